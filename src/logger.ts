import { pino, type DestinationStream, type Logger } from 'pino'

/** Paths pino censors wherever they appear: secrets never reach a log line. */
export const REDACT_PATHS = Object.freeze([
  'apiToken',
  'fsEslPassword',
  'password',
  'config.apiToken',
  'config.fsEslPassword',
  'req.headers.authorization',
  'headers.authorization',
  '*.password',
  '*.apiToken',
])

export interface LoggerOptions {
  readonly level: string
  /** Default: stdout for `serve`/`worker` (JSON lines); the CLI's one-shot commands pass stderr. */
  readonly destination?: DestinationStream | number
}

/** The process's root logger. Components take `logger.child({ component: '…' })`. */
export function createLogger(options: LoggerOptions): Logger {
  const destination =
    typeof options.destination === 'number' || options.destination === undefined
      ? pino.destination({ fd: options.destination ?? 1, sync: false })
      : options.destination
  return pino(
    {
      level: options.level,
      base: { service: 'tts-cache', pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.errWithCause },
    },
    destination,
  )
}
