import type { Logger } from '../../../src/core/ports/index.js'

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly bindings: Readonly<Record<string, unknown>>
  readonly obj: object
  readonly msg: string | undefined
}

/** A pino-shaped logger that keeps every entry (tests inspect them, e.g. for leaked secrets). */
export class RecordingLogger implements Logger {
  readonly entries: LogEntry[]
  readonly #bindings: Record<string, unknown>

  constructor(entries: LogEntry[] = [], bindings: Record<string, unknown> = {}) {
    this.entries = entries
    this.#bindings = bindings
  }

  debug(obj: object, msg?: string): void {
    this.entries.push({ level: 'debug', bindings: this.#bindings, obj, msg })
  }
  info(obj: object, msg?: string): void {
    this.entries.push({ level: 'info', bindings: this.#bindings, obj, msg })
  }
  warn(obj: object, msg?: string): void {
    this.entries.push({ level: 'warn', bindings: this.#bindings, obj, msg })
  }
  error(obj: object, msg?: string): void {
    this.entries.push({ level: 'error', bindings: this.#bindings, obj, msg })
  }
  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.entries, { ...this.#bindings, ...bindings })
  }

  /** Everything logged, serialised the way a JSON log line would carry it (errors included). */
  text(): string {
    return this.entries
      .map((e) => JSON.stringify({ ...e.bindings, ...serialise(e.obj), msg: e.msg }))
      .join('\n')
  }

  at(level: LogEntry['level']): LogEntry[] {
    return this.entries.filter((e) => e.level === level)
  }
}

function serialise(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) {
    out[k] = v instanceof Error ? { ...v, message: v.message, stack: v.stack, cause: String(v.cause) } : v
  }
  return out
}
