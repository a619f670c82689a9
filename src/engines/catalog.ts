import { DEFAULTS } from '../core/defaults.js'
import { TtsError } from '../core/errors.js'
import type { EngineCatalog as EngineCatalogPort, Logger } from '../core/ports/index.js'
import type { EngineAdapter, EngineAdapterOptions, EngineDetection, ProbeOptions } from './adapters/engine-adapter.js'
import { firstLine, probeStdout } from './adapters/engine-probe.js'
import { createAdapters, engineDefinition } from './adapters/index.js'
import { ENGINE_DEFAULTS } from './engine-defaults.js'
import { missingWarning, type MissingEngine as Missing } from './known-versions.js'
import type { ProbeMemo } from './probe-memo.js'
import { resolveExecutable } from './process/resolve-executable.js'

export interface EngineCatalogOptions extends EngineAdapterOptions {
  /** Must be found, or `detect` throws TTS_ERR_ENGINE_UNAVAILABLE (TTS_ERR_UNKNOWN_ENGINE if not an engine id). */
  readonly defaultEngine: string
  readonly logger: Logger
  /** sox is probed too (for `describe`); a missing sox is a warning, not fatal. Default `sox`. */
  readonly soxPath?: string | undefined
  /** PATH used to report where binaries are. Default: the service's own PATH. */
  readonly searchPath?: string | undefined
  /** Default ENGINE_DEFAULTS.detectTimeoutMs. */
  readonly detectTimeoutMs?: number | undefined
  /** Default DEFAULTS.killGraceMs. */
  readonly killGraceMs?: number | undefined
  readonly signal?: AbortSignal | undefined
  /** Replays and records the probes' outputs (see probe-memo.ts). Default: every probe runs. */
  readonly memo?: ProbeMemo | undefined
  /** Log each engine found at info (default true; a re-check after a start says only what changed). */
  readonly logFound?: boolean | undefined
  /**
   * A default engine that is not found does not throw: it stays unavailable (misses fail at once
   * with its TTS_ERR_ENGINE_UNAVAILABLE) and keys are computed with `rememberedVersion` (its
   * version at the last start), so cached phrases are still served. `serve` sets it.
   */
  readonly missingDefault?: { readonly rememberedVersion: string | undefined } | undefined
}

/** One engine (or sox) as `doctor` shows it. */
export interface EngineStatus {
  readonly id: string
  readonly found: boolean
  readonly isDefault: boolean
  /** The binary as configured. */
  readonly binary: string
  /** Where it was found on disk, if it was. */
  readonly path: string | undefined
  readonly version: string | undefined
  /** Number of listed voices, when the engine lists them. */
  readonly voices: number | undefined
  /** Why it is not available. */
  readonly error: string | undefined
}

export interface CatalogDescription {
  readonly engines: readonly EngineStatus[]
  /** sox converts engine output that is not already canonical. */
  readonly sox: EngineStatus
}

interface Enabled {
  readonly adapter: EngineAdapter
  readonly detection: EngineDetection
}

/**
 * The engines this process can render with, detected once at start (in parallel): their
 * versions (part of every cache key) and voice lists. Implements the core's EngineCatalog port,
 * and hands the pool each engine's adapter. Engines other than the default are enabled only when
 * found; `command` only when a template is configured.
 */
export class EngineCatalog implements EngineCatalogPort {
  readonly #enabled: Map<string, Enabled>
  /** The default engine when it was not found and `missingDefault` allowed that. */
  readonly #missing: Missing | undefined
  #description: CatalogDescription

  private constructor(enabled: Map<string, Enabled>, description: CatalogDescription, missing: Missing | undefined) {
    this.#enabled = enabled
    this.#description = description
    this.#missing = missing
  }

  static async detect(options: EngineCatalogOptions): Promise<EngineCatalog> {
    const log = options.logger.child({ component: 'engines' })
    const searchPath = options.searchPath ?? process.env['PATH']
    const probe: ProbeOptions = {
      timeoutMs: options.detectTimeoutMs ?? ENGINE_DEFAULTS.detectTimeoutMs,
      killGraceMs: options.killGraceMs ?? DEFAULTS.killGraceMs,
      signal: options.signal,
      searchPath,
      memo: options.memo,
    }
    const definition = engineDefinition(options.defaultEngine)
    if (definition === undefined) {
      throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [options.defaultEngine] })
    }
    const adapters = createAdapters(options)
    if (!adapters.some((adapter) => adapter.id === definition.id)) {
      throw new TtsError('TTS_ERR_ENGINE_UNAVAILABLE', { args: [definition.id, definition.notConfigured ?? 'not configured'] })
    }
    const soxBinary = options.soxPath ?? ENGINE_DEFAULTS.soxPath
    const [results, sox] = await Promise.all([
      Promise.all(adapters.map((adapter) => detectOne(adapter, probe))),
      detectSox(soxBinary, probe),
    ])

    const enabled = new Map<string, Enabled>()
    let missing: Missing | undefined
    const statuses: EngineStatus[] = []
    for (const [index, adapter] of adapters.entries()) {
      const result = results[index]
      if (result === undefined) continue
      const isDefault = adapter.id === options.defaultEngine
      statuses.push(await statusOf(adapter.id, adapter.binary, isDefault, result, searchPath))
      if (result.ok) {
        enabled.set(adapter.id, { adapter, detection: result.detection })
        if (options.logFound !== false) log.info({ engine: adapter.id, version: result.detection.version, voices: result.detection.voices?.size }, 'engine found')
      } else if (isDefault) {
        // Its own error already says which engine and why (`… not found`, `--version failed …`).
        if (options.missingDefault === undefined) {
          log.error({ engine: adapter.id, err: result.error }, 'the default engine is not available')
          throw result.error
        }
        missing = { id: adapter.id, error: result.error, version: options.missingDefault.rememberedVersion }
        log.warn({ engine: adapter.id, err: result.error, rememberedVersion: missing.version ?? null }, missingWarning(missing))
      } else {
        log.debug({ engine: adapter.id, err: result.error }, 'engine not available; disabled')
      }
    }
    const soxStatus = await statusOf('sox', soxBinary, false, sox, searchPath)
    if (!sox.ok) log.warn({ err: sox.error }, 'sox not found: renders whose engine output is not canonical will fail')
    return new EngineCatalog(enabled, Object.freeze({ engines: Object.freeze(statuses), sox: soxStatus }), missing)
  }

  /** Why `engine` cannot render (the default engine not found at the start), or undefined when it can. */
  unavailable(engine: string): TtsError | undefined {
    if (this.#missing?.id !== engine) return undefined
    return new TtsError('TTS_ERR_ENGINE_UNAVAILABLE', { args: [engine, this.#missing.error.message.replace(/^engine \S+ is not available: /, '')] })
  }

  /** The default engine when it was missing at the start: its id and the version keys are computed with. */
  get missingDefault(): { readonly id: string; readonly rememberedVersion: string | undefined } | undefined {
    return this.#missing === undefined ? undefined : { id: this.#missing.id, rememberedVersion: this.#missing.version }
  }

  /**
   * Takes the detections of a later `detect` (the probes run again after a start that replayed
   * remembered ones: see probe-memo.ts) for every engine enabled in both, and its description.
   * The set of engines stays as it was (the render host was started with it): an engine found or
   * lost since is reported by the returned lists and needs a restart. Returns what changed.
   */
  adopt(fresh: EngineCatalog): { readonly changed: readonly string[]; readonly found: readonly string[]; readonly lost: readonly string[] } {
    const changed: string[] = []
    for (const [id, current] of this.#enabled) {
      const next = fresh.#enabled.get(id)
      if (next === undefined) continue
      if (next.detection.version !== current.detection.version || !sameVoices(next.detection, current.detection)) changed.push(id)
      this.#enabled.set(id, next)
    }
    this.#description = fresh.#description
    return {
      changed,
      found: [...fresh.#enabled.keys()].filter((id) => !this.#enabled.has(id)),
      lost: [...this.#enabled.keys()].filter((id) => !fresh.#enabled.has(id)),
    }
  }

  versionOf(engine: string): string {
    if (this.#missing?.id === engine) {
      if (this.#missing.version === undefined) throw this.unavailable(engine) ?? this.#missing.error
      return this.#missing.version
    }
    return this.#get(engine).detection.version
  }

  checkVoice(engine: string, voice: string): void {
    // A missing engine's voices are unknown: a voice it never had is a miss, and misses fail.
    if (this.#missing?.id === engine) return
    const { detection } = this.#get(engine)
    if (voice === '') return
    const known = detection.hasVoice?.(voice) ?? detection.voices?.has(voice) ?? true
    if (!known) throw new TtsError('TTS_ERR_UNKNOWN_VOICE', { args: [engine, voice] })
  }

  ids(): readonly string[] {
    return [...this.#enabled.keys()]
  }

  /** The adapter the renderer runs for `engine`. Throws TTS_ERR_UNKNOWN_ENGINE when disabled. */
  adapter(engine: string): EngineAdapter {
    return this.#get(engine).adapter
  }

  /** Every engine's detection result (found or not), for `doctor` and readiness. */
  describe(): CatalogDescription {
    return this.#description
  }

  #get(engine: string): Enabled {
    const found = this.#enabled.get(engine)
    if (found === undefined) throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [String(engine).slice(0, 40)] })
    return found
  }
}

function sameVoices(a: EngineDetection, b: EngineDetection): boolean {
  if (a.voices === undefined || b.voices === undefined) return a.voices === b.voices
  return a.voices.size === b.voices.size && [...a.voices].every((voice) => b.voices?.has(voice) === true)
}

type DetectResult = { readonly ok: true; readonly detection: EngineDetection } | { readonly ok: false; readonly error: TtsError }

async function detectOne(adapter: EngineAdapter, probe: ProbeOptions): Promise<DetectResult> {
  try {
    return { ok: true, detection: await adapter.detect(probe) }
  } catch (err) {
    const error = err instanceof TtsError ? err : new TtsError('TTS_ERR_ENGINE_UNAVAILABLE', { args: [adapter.id, String(err)], cause: err })
    return { ok: false, error }
  }
}

async function detectSox(binary: string, probe: ProbeOptions): Promise<DetectResult> {
  try {
    // `sox --version` → `sox:      SoX v14.4.2`
    const out = await probeStdout('sox', binary, ['--version'], probe, undefined)
    return { ok: true, detection: { version: /SoX (v\S+)/.exec(out)?.[1] ?? firstLine(out) } }
  } catch (err) {
    return { ok: false, error: err instanceof TtsError ? err : new TtsError('TTS_ERR_ENGINE_UNAVAILABLE', { args: ['sox', String(err)], cause: err }) }
  }
}

async function statusOf(
  id: string,
  binary: string,
  isDefault: boolean,
  result: DetectResult,
  searchPath: string | undefined,
): Promise<EngineStatus> {
  return Object.freeze({
    id,
    found: result.ok,
    isDefault,
    binary,
    path: await resolveExecutable(binary, searchPath),
    version: result.ok ? result.detection.version : undefined,
    voices: result.ok ? result.detection.voices?.size : undefined,
    error: result.ok ? undefined : result.error.message,
  })
}
