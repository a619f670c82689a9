import { pino, type DestinationStream, type Logger } from 'pino'
import { logSecretsOf, redactLogObject, REDACTED, scrubLogLine, serializeError } from './log-redaction.js'

export { logSecretsOf }

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
  /**
   * Secret values to blank wherever they appear in a line (messages and stacks included):
   * `logSecretsOf(config)` — the API token, the ESL password, Redis passwords.
   */
  readonly secrets?: readonly string[]
}

/**
 * The process's root logger. Components take `logger.child({ component: '…' })`. Secrets are
 * kept out of every line, at every level, by three layers (src/log-redaction.ts): secret-named
 * fields, environment maps and authenticating commands' arguments (`err.command.args` after a
 * Redis WRONGPASS) are redacted in the logged object and in every Error in it; then the finished
 * line loses URL userinfo, `password=`/`token=` parameters, bearer tokens and `secrets`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination =
    typeof options.destination === 'number' || options.destination === undefined
      ? pino.destination({ fd: options.destination ?? 1, sync: false })
      : options.destination
  const secrets = options.secrets ?? []
  return pino(
    {
      level: options.level,
      base: { service: 'tts-cache', pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      serializers: { err: serializeError },
      formatters: { log: redactLogObject, bindings: redactLogObject },
      hooks: { streamWrite: (line) => scrubLogLine(line, secrets) },
    },
    destination,
  )
}
