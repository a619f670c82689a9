import { isTtsError } from '../core/errors.js'

/** The CLI's only writers: results to stdout, diagnostics to stderr (never console.*). */
export function out(line: string): void {
  process.stdout.write(`${line}\n`)
}

/**
 * A reader that went away (`tts-cache stats | head -1`) is not a failure: further output is
 * dropped and the command finishes its work with its own exit code, instead of dying of an
 * unhandled EPIPE with a stack trace. Any other stdout error is reported and fails the command.
 */
export function tolerateClosedStdout(stdout: NodeJS.WriteStream = process.stdout): void {
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') return
    err(`tts-cache: cannot write the output: ${error.message}`)
    process.exitCode = EXIT.failed
  })
}

export function err(line: string): void {
  process.stderr.write(`${line}\n`)
}

export function json(value: unknown): void {
  out(JSON.stringify(value))
}

/** Exit codes: 0 done, 1 the operation failed, 2 the command line is wrong. */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2 })

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** `CODE: message` for typed errors (plus every config issue), the message otherwise. */
export function describeError(error: unknown): string {
  if (isTtsError(error)) {
    const issues = error.details['issues']
    if (Array.isArray(issues)) return `${error.code}: invalid configuration\n${issues.map((i) => `  - ${String(i)}`).join('\n')}`
    return `${error.code}: ${error.message}`
  }
  return error instanceof Error ? error.message : String(error)
}
