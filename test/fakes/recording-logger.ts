import type { Logger } from '../../src/core/ports/index.js'

export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly obj: Record<string, unknown>
  readonly msg: string | undefined
}

interface LogWaiter {
  readonly match: (r: LogRecord) => boolean
  readonly resolve: (r: LogRecord) => void
}

/** A Logger that keeps every record and lets a test wait for one (a handshake, not a sleep). */
export class RecordingLogger implements Logger {
  readonly records: LogRecord[]
  readonly #bindings: Record<string, unknown>
  readonly #waiters: LogWaiter[]

  constructor(records: LogRecord[] = [], bindings: Record<string, unknown> = {}, waiters: LogWaiter[] = []) {
    this.records = records
    this.#bindings = bindings
    this.#waiters = waiters
  }

  debug(obj: object, msg?: string): void {
    this.#add('debug', obj, msg)
  }
  info(obj: object, msg?: string): void {
    this.#add('info', obj, msg)
  }
  warn(obj: object, msg?: string): void {
    this.#add('warn', obj, msg)
  }
  error(obj: object, msg?: string): void {
    this.#add('error', obj, msg)
  }
  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.records, { ...this.#bindings, ...bindings }, this.#waiters)
  }

  /** Resolves with the first record (past or future) that matches. */
  waitFor(match: (r: LogRecord) => boolean): Promise<LogRecord> {
    const seen = this.records.find(match)
    if (seen !== undefined) return Promise.resolve(seen)
    return this.next(match)
  }

  /** Resolves with the next matching record logged from now on. */
  next(match: (r: LogRecord) => boolean): Promise<LogRecord> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve }))
  }

  atLevel(level: LogRecord['level']): LogRecord[] {
    return this.records.filter((r) => r.level === level)
  }

  #add(level: LogRecord['level'], obj: object, msg: string | undefined): void {
    const record: LogRecord = { level, obj: { ...this.#bindings, ...obj }, msg }
    this.records.push(record)
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i]
      if (waiter !== undefined && waiter.match(record)) {
        this.#waiters.splice(i, 1)
        waiter.resolve(record)
      }
    }
  }
}
