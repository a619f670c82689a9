import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'fastify/types/logger.js'

type LogFn = FastifyBaseLogger['info']

/**
 * Fastify gives every request a child logger (bound to its reqId). pino builds a child by
 * stringifying its bindings through the redaction paths of the http logger: on a cache hit that
 * is a few per cent of the CPU (profile, issue 19), for a logger most hits never write to (no
 * line per request below debug). This one makes the pino child on its first use only: the
 * lines it writes, their bindings and redaction are the same as the child's.
 */
export class LazyRequestLogger implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: ChildLoggerOptions | undefined
  #child: FastifyBaseLogger | undefined

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions | undefined) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  /** The real pino child, made once. */
  get #logger(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }

  /** The child's level without making it: its own option, else the parent's (pino's rule). */
  get level(): string {
    return this.#child?.level ?? this.#options?.level ?? this.#parent.level
  }

  set level(level: string) {
    this.#logger.level = level
  }

  fatal(...args: Parameters<LogFn>): void {
    this.#logger.fatal(...args)
  }

  error(...args: Parameters<LogFn>): void {
    this.#logger.error(...args)
  }

  warn(...args: Parameters<LogFn>): void {
    this.#logger.warn(...args)
  }

  info(...args: Parameters<LogFn>): void {
    this.#logger.info(...args)
  }

  debug(...args: Parameters<LogFn>): void {
    this.#logger.debug(...args)
  }

  trace(...args: Parameters<LogFn>): void {
    this.#logger.trace(...args)
  }

  silent(...args: Parameters<LogFn>): void {
    this.#logger.silent(...args)
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger.child(bindings, options)
  }
}

/** Fastify's `childLoggerFactory`: a LazyRequestLogger (empty options passed as none, pino's fast path). */
export function lazyChildLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, Object.keys(options).length === 0 ? undefined : options)
}
