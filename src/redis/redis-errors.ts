/**
 * Telling Redis errors apart, and logging them without secrets. ioredis attaches the failed
 * command to its errors (`err.command = { name, args }`); for an AUTH that is the password, and
 * pino would print it. Errors we log go through `redisErrorForLog` first.
 */

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'])

/**
 * True for errors that only say "Redis is not reachable right now" (already logged once per
 * outage by the client): callers log them at debug, anything else louder.
 */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as NodeJS.ErrnoException).code
  if (code !== undefined && CONNECTION_ERROR_CODES.has(code)) return true
  return /Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|connect ETIMEDOUT|Reached the max retries|Command timed out|All sentinels are unreachable|None of startup nodes/i.test(err.message)
}

/** True when a command got no reply within its `commandTimeout`: Redis is up but not answering. */
export function isCommandTimeout(err: unknown): boolean {
  return err instanceof Error && /^Command timed out/.test(err.message)
}

/** What a log line may show of a Redis error: its kind, message, code and the command's name, never its arguments. */
export interface LoggableRedisError {
  readonly type: string
  readonly message: string
  readonly code?: string | undefined
  readonly command?: string | undefined
  readonly stack?: string | undefined
}

export function redisErrorForLog(err: unknown): LoggableRedisError | unknown {
  if (!(err instanceof Error)) return err
  const command = (err as { command?: { name?: unknown } }).command
  const code = (err as NodeJS.ErrnoException).code
  return {
    type: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof command?.name === 'string' ? { command: command.name } : {}),
    ...(err.stack === undefined ? {} : { stack: err.stack }),
  }
}
