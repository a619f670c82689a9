import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { Logger } from '../../src/core/ports/index.js'

/** Logs stay quiet unless TEST_LOG=debug (or another pino level) is set. */
export function testLogger(): Logger {
  return pino({ level: process.env['TEST_LOG'] ?? 'silent' }) as unknown as Logger
}

/** Collects pino's JSON lines (to check what reaches the log). */
export class LogCapture extends Writable {
  readonly lines: string[] = []

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''))
    callback()
  }

  get text(): string {
    return this.lines.join('\n')
  }
}
