import type { Logger } from '../../core/ports/index.js'

/**
 * A child logger that is only created when something is logged through it. The hook handles
 * thousands of calls a second and almost every call logs nothing at the configured level, so a
 * pino child per call (an object plus serialised bindings, to carry the channel UUID) would be
 * pure overhead. Note: `debug` on it creates the child even when debug is off; keep debug lines
 * off the hit path.
 */
export class LazyChildLogger implements Logger {
  readonly #parent: Logger
  readonly #bindings: Record<string, unknown>
  #child: Logger | undefined

  constructor(parent: Logger, bindings: Record<string, unknown>) {
    this.#parent = parent
    this.#bindings = bindings
  }

  debug(obj: object, msg?: string): void {
    this.#get().debug(obj, msg)
  }
  info(obj: object, msg?: string): void {
    this.#get().info(obj, msg)
  }
  warn(obj: object, msg?: string): void {
    this.#get().warn(obj, msg)
  }
  error(obj: object, msg?: string): void {
    this.#get().error(obj, msg)
  }
  child(bindings: Record<string, unknown>): Logger {
    return this.#get().child(bindings)
  }

  #get(): Logger {
    this.#child ??= this.#parent.child(this.#bindings)
    return this.#child
  }
}
