import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import type AjvCompiler from '@fastify/ajv-compiler'
import type SerializerSelector from '@fastify/fast-json-stringify-compiler'

// Loaded on the first compile, not at start: Ajv, its formats and fast-json-stringify are
// ~50 ms of module loading.
const require = createRequire(import.meta.url)

type ValidatorBuilder = ReturnType<typeof AjvCompiler>
type SerializerBuilder = ReturnType<typeof SerializerSelector>
type Validate = ((...args: unknown[]) => unknown) & { errors?: unknown }

/** Validators generated at build time (scripts/precompile-validators.js), by `schemaKey`. */
export type PrecompiledValidators = Readonly<Record<string, () => Validate>>

/** The name of the generated module, next to this one in dist/http/. */
export const PRECOMPILED_VALIDATORS_FILE = 'precompiled-validators.cjs'

/**
 * The Ajv options of every route validator (Fastify's `ajv.customOptions`, merged over its
 * defaults): no type coercion — `{"text":42}` is not the text "42", `"rate":"8000"` and
 * `[8000]` are not 8000 — and unknown properties refused, not silently dropped (a JSON body's
 * schema says `additionalProperties: false`). Query-string values are strings by nature: their
 * schemas say so (`rate` is text the core parses, src/core/phrase.ts), and a boolean parameter
 * is exactly `true` or `false` ({@link strictQueryBooleans}).
 */
export const VALIDATION_OPTIONS = Object.freeze({ coerceTypes: false, removeAdditional: false } as const)

/**
 * Identifies a route validator by its schema and the Ajv options it is compiled with (without
 * Ajv's `code` option, which only says how the build generates it): a validator generated with
 * other options — coercion on, say — is never looked up for these.
 */
export function schemaKey(schema: unknown, ajvOptions: unknown = VALIDATION_OPTIONS): string {
  const { code: _code, ...options } = (ajvOptions ?? {}) as Record<string, unknown>
  return createHash('sha256').update(JSON.stringify([schema, options])).digest('hex').slice(0, 32)
}

interface RouteSchema {
  readonly schema: unknown
  readonly httpPart?: string | undefined
}

/**
 * For a query-string validator: the names of its boolean parameters. The validator turns exactly
 * `true` / `false` into booleans before Ajv runs (no coercion: `1`, `yes` or a repeated parameter
 * stay what they are and fail as "must be boolean").
 */
export function strictQueryBooleans(route: RouteSchema): readonly string[] {
  if (route.httpPart !== 'querystring') return []
  const properties = (route.schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties ?? {}
  return Object.keys(properties).filter((name) => properties[name]?.type === 'boolean')
}

/** The build's generated validators; undefined when there are none (running from the sources, or a build without them). */
export function loadPrecompiledValidators(): PrecompiledValidators | undefined {
  try {
    return require(`./${PRECOMPILED_VALIDATORS_FILE}`) as PrecompiledValidators
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined
    throw err
  }
}

/**
 * Fastify's own schema compilers (Ajv for request validation, fast-json-stringify for
 * responses), each route's compiled on first use instead of while the server gets ready.
 * Compiling every route's schemas was ~250 ms of `ready()` — most of `serve`'s time between
 * the ESL hook listening and the HTTP API listening (issue 11: first hit ≤ 1 s). Once the
 * server listens, `compileAll()` compiles what is left a route at a time between other work,
 * so the first requests rarely pay for it and a broken schema is still reported at start (a
 * schema that fails on first use answers 500, as Fastify does for a validator that throws).
 * Same compilers as Fastify's defaults, with {@link VALIDATION_OPTIONS} (no coercion), whether
 * a validator comes generated or is compiled here.
 *
 * A validator the build generated for the very same schema (Ajv's standalone code, by
 * `schemaKey`: see scripts/precompile-validators.js) is used instead of compiling it: the first
 * request then pays neither for loading Ajv (~55 ms) nor for compiling (~40 ms a schema). A
 * schema changed since the build has another key, so it is compiled: never a stale validator.
 */
export class LazySchemaCompilers {
  readonly #pending = new Set<() => unknown>()
  readonly #precompiled: PrecompiledValidators | undefined
  #validators: ValidatorBuilder | undefined
  #serializers: SerializerBuilder | undefined
  #generatedUsed = 0

  /** `precompiled`: validators generated at build time (default: none). */
  constructor(precompiled?: PrecompiledValidators) {
    this.#precompiled = precompiled
  }

  /** For Fastify's `schemaController.compilersFactory.buildValidator`. */
  readonly buildValidator: ValidatorBuilder = (externalSchemas, options) => {
    let compiler: ReturnType<ValidatorBuilder> | undefined
    const compile = (route: Parameters<ReturnType<ValidatorBuilder>>[0]): unknown => {
      const generated = Object.keys(externalSchemas).length === 0 ? this.#precompiled?.[schemaKey(route.schema, options?.customOptions)] : undefined
      if (generated !== undefined) {
        this.#generatedUsed++
        return generated()
      }
      this.#validators ??= (require('@fastify/ajv-compiler') as typeof AjvCompiler)()
      compiler ??= this.#validators(externalSchemas, options)
      return compiler(route)
    }
    return ((route) => this.#lazyValidator(() => compile(route) as Validate, strictQueryBooleans(route))) as ReturnType<ValidatorBuilder>
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

  /** Route validators taken from the build's generated ones (not compiled here). */
  get generatedUsed(): number {
    return this.#generatedUsed
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

  #lazyValidator(compile: () => Validate, queryBooleans: readonly string[]): Validate {
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
      const data = args[0] as Record<string, unknown> | undefined
      if (queryBooleans.length > 0 && typeof data === 'object' && data !== null) {
        for (const name of queryBooleans) {
          const value = data[name]
          if (value === 'true') data[name] = true
          else if (value === 'false') data[name] = false
        }
      }
      const result = compiled.apply(this, args)
      validate.errors = compiled.errors
      return result
    }
    return validate
  }
}
