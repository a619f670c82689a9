import { createRequire } from 'node:module'
import type AjvCompiler from '@fastify/ajv-compiler'
import type SerializerSelector from '@fastify/fast-json-stringify-compiler'

// Loaded on the first compile, not at start: Ajv, its formats and fast-json-stringify are
// ~50 ms of module loading.
const require = createRequire(import.meta.url)

type ValidatorBuilder = ReturnType<typeof AjvCompiler>
type SerializerBuilder = ReturnType<typeof SerializerSelector>
type Validate = ((...args: unknown[]) => unknown) & { errors?: unknown }

/**
 * Fastify's own schema compilers (Ajv for request validation, fast-json-stringify for
 * responses), each route's compiled on first use instead of while the server gets ready.
 * Compiling every route's schemas was ~250 ms of `ready()` — most of `serve`'s time between
 * the ESL hook listening and the HTTP API listening (issue 11: first hit ≤ 1 s). Once the
 * server listens, `compileAll()` compiles what is left a route at a time between other work,
 * so the first requests rarely pay for it and a broken schema is still reported at start (a
 * schema that fails on first use answers 500, as Fastify does for a validator that throws).
 * Same compilers and options as Fastify's defaults: validation behaves exactly as before.
 * (Fastify's standalone mode — code generated at build time — would skip compiling altogether,
 * at the price of a build step that must track every schema change; compiling late was enough.)
 */
export class LazySchemaCompilers {
  readonly #pending = new Set<() => unknown>()
  #validators: ValidatorBuilder | undefined
  #serializers: SerializerBuilder | undefined

  /** For Fastify's `schemaController.compilersFactory.buildValidator`. */
  readonly buildValidator: ValidatorBuilder = (externalSchemas, options) => {
    let compiler: ReturnType<ValidatorBuilder> | undefined
    const compile = (route: Parameters<ReturnType<ValidatorBuilder>>[0]): unknown => {
      this.#validators ??= (require('@fastify/ajv-compiler') as typeof AjvCompiler)()
      compiler ??= this.#validators(externalSchemas, options)
      return compiler(route)
    }
    return ((route) => this.#lazyValidator(() => compile(route) as Validate)) as ReturnType<ValidatorBuilder>
  }

  /** For Fastify's `schemaController.compilersFactory.buildSerializer`. */
  readonly buildSerializer: SerializerBuilder = (externalSchemas, options) => {
    let compiler: ReturnType<SerializerBuilder> | undefined
    return (route) => {
      let serialize: ((data: unknown) => string) | undefined
      const build = (): ((data: unknown) => string) => {
        this.#serializers ??= (require('@fastify/fast-json-stringify-compiler') as typeof SerializerSelector)()
        compiler ??= this.#serializers(externalSchemas, options)
        serialize ??= compiler(route) as (data: unknown) => string
        this.#pending.delete(build)
        return serialize
      }
      this.#pending.add(build)
      return (data: unknown) => build()(data)
    }
  }

  /** Routes whose schemas are not compiled yet. */
  get pending(): number {
    return this.#pending.size
  }

  /**
   * Compiles every schema not compiled yet, one per macrotask (requests are served in between).
   * Resolves with the errors of schemas that failed (each is also what its route answers).
   */
  async compileAll(): Promise<Error[]> {
    const failures: Error[] = []
    for (const build of [...this.#pending]) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      try {
        build()
      } catch (err) {
        this.#pending.delete(build)
        failures.push(err instanceof Error ? err : new Error(String(err)))
      }
    }
    return failures
  }

  #lazyValidator(compile: () => Validate): Validate {
    let fn: Validate | undefined
    const build = (): Validate => {
      fn ??= compile()
      this.#pending.delete(build)
      return fn
    }
    this.#pending.add(build)
    // Fastify reads `.errors` off the function it called after a failed validation.
    const validate: Validate = function (this: unknown, ...args: unknown[]) {
      const compiled = build()
      const result = compiled.apply(this, args)
      validate.errors = compiled.errors
      return result
    }
    return validate
  }
}
