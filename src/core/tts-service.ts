import { cacheKeyFor, isCacheKey } from './cache-key.js'
import { TtsError, toTtsError } from './errors.js'
import { toPhraseRequest, type PhraseDefaults, type PhraseInput } from './phrase.js'
import type { AudioStore, CacheEntry, EngineCatalog, Logger, RenderQueue, RequestSource, ResultStatus, TtsObserver } from './ports/index.js'
import { countOutcome } from './count-outcome.js'
import { CoalescedSeat, type RenderSeat } from './render-seat.js'
import { SingleFlight } from './single-flight.js'
import type { GetOptions, ResolvedPhrase, TtsResult } from './tts-types.js'

export type { RenderSeat, RequestSource, ResultStatus, TtsObserver }
export type { GetOptions, ResolvedPhrase, TtsResult } from './tts-types.js'

export interface TtsServiceDeps {
  readonly store: AudioStore
  readonly queue: RenderQueue
  readonly engines: EngineCatalog
  readonly defaults: PhraseDefaults
  readonly logger: Logger
  readonly observer?: TtsObserver | undefined
}

interface Produced {
  readonly entry: CacheEntry
  /** exists / cached → hit; published-by-peer / joined → coalesced; rendered → rendered. */
  readonly how: 'rendered' | 'exists' | 'published-by-peer' | 'joined' | 'cached'
}

/**
 * Answers "which WAV is this phrase?": a hit (an indexed entry whose file the store found on disk
 * as indexed), or one render per key no matter how many callers (single-flight in this process,
 * a lock file across processes on one cache directory, the queue backend's job id across a cluster).
 */
export class TtsService {
  readonly #deps: TtsServiceDeps
  readonly #flights: SingleFlight<Produced>
  /** A render's outcome as its seats get it (`seat`), one promise per render. */
  readonly #coalesced = new WeakMap<Promise<Produced>, Promise<TtsResult>>()
  #closing = false

  constructor(deps: TtsServiceDeps) {
    this.#deps = deps
    const log = deps.logger
    this.#flights = new SingleFlight<Produced>((key, err) => {
      log.warn({ key, err }, 'render failed with no caller left waiting')
    })
  }

  get defaults(): PhraseDefaults {
    return this.#deps.defaults
  }

  /** Renders currently in flight in this process. */
  get inFlight(): number {
    return this.#flights.size
  }

  /** Validates the input and computes its key. Throws TtsError; never touches the disk. */
  resolve(input: PhraseInput): ResolvedPhrase {
    const request = toPhraseRequest(input, this.#deps.defaults)
    const engineVersion = this.#deps.engines.versionOf(request.engine)
    this.#deps.engines.checkVoice(request.engine, request.voice)
    return { request, key: cacheKeyFor(request, engineVersion), engineVersion }
  }

  /** The store's lookup by key (refreshes recency; a hit only while its file is on disk as indexed). */
  lookupKey(key: string): CacheEntry | undefined {
    if (!isCacheKey(key)) throw new TtsError('TTS_ERR_INVALID_KEY', { args: [String(key).slice(0, 80)] })
    return this.#deps.store.lookup(key)
  }

  /** A phrase resolved earlier still resolves the same (engine versions and voices change at run time: EngineCatalog.adopt). */
  isCurrent(resolved: ResolvedPhrase): boolean {
    const { engine, voice } = resolved.request
    try {
      if (this.#deps.engines.versionOf(engine) !== resolved.engineVersion) return false
      this.#deps.engines.checkVoice(engine, voice)
      return true
    } catch {
      // The engine or voice is gone: not current (resolving again reports why).
      return false
    }
  }

  /**
   * The hit for a resolved phrase, synchronously, counted as `get` counts one; undefined on a
   * miss, counting nothing (the caller goes on with `getFor` or `getAfterMiss`, which count it).
   */
  hit(resolved: ResolvedPhrase, source: RequestSource): TtsResult | undefined {
    const started = performance.now()
    const entry = this.#deps.store.lookup(resolved.key)
    if (entry === undefined) return undefined
    const result = toResult(entry, 'hit')
    countOutcome(this.#deps.observer, source, result, started)
    return result
  }

  /**
   * A seat in the render of `resolved` in flight here (see RenderSeat), counted as `getFor`
   * counts a coalesced wait; undefined when none is in flight or the service is closing (then
   * `getFor` says what to do).
   */
  seat(resolved: ResolvedPhrase, source: RequestSource): RenderSeat | undefined {
    if (this.#closing) return undefined
    const seat = this.#flights.seat(resolved.key)
    if (seat === undefined) return undefined
    this.#deps.queue.promote?.(resolved.key)
    let result = this.#coalesced.get(seat.promise)
    if (result === undefined) {
      result = seat.promise.then(
        (produced) => toResult(produced.entry, 'coalesced'),
        (err: unknown) => {
          throw toTtsError(err)
        },
      )
      // Every holder handles it; one that left before it settled need not.
      result.catch(() => undefined)
      this.#coalesced.set(seat.promise, result)
    }
    return new CoalescedSeat(seat, result, source, this.#deps.observer)
  }

  async get(input: PhraseInput, options: GetOptions = {}): Promise<TtsResult> {
    return this.#counted(options, () => this.getResolved(this.resolve(input), options))
  }

  /** `get` for a phrase resolved earlier (and still current: see isCurrent), counted the same. */
  async getFor(resolved: ResolvedPhrase, options: GetOptions = {}): Promise<TtsResult> {
    return this.#counted(options, () => this.getResolved(resolved, options))
  }

  /**
   * `getFor` for a phrase whose `hit` has just missed (no await between): counted the same,
   * without a second index lookup (getWithoutLookup: a WAV that appeared meanwhile is still a hit).
   */
  async getAfterMiss(resolved: ResolvedPhrase, options: GetOptions = {}): Promise<TtsResult> {
    return this.#counted(options, () => this.getWithoutLookup(resolved, options))
  }

  async #counted(options: GetOptions, call: () => Promise<TtsResult>): Promise<TtsResult> {
    const source = options.source ?? 'cli'
    const started = performance.now()
    try {
      const result = await call()
      countOutcome(this.#deps.observer, source, result, started)
      return result
    } catch (err) {
      const error = toTtsError(err)
      countOutcome(this.#deps.observer, source, error, started)
      throw error
    }
  }

  /** `get` for an already resolved phrase (the pre-warm path resolves first to report per-item errors). */
  async getResolved(resolved: ResolvedPhrase, options: GetOptions = {}): Promise<TtsResult> {
    const { key } = resolved
    if (options.refresh !== true) {
      const hit = this.#deps.store.lookup(key)
      if (hit !== undefined) {
        if (options.pin === true && !hit.pinned) await this.#deps.store.pin(key)
        return toResult(hit, 'hit')
      }
    }
    return this.getWithoutLookup(resolved, options)
  }

  /**
   * `getResolved` without its index lookup, for a caller that has just looked the key up itself
   * (a pre-warm batch does, at submission, to count what is cached): one lookup per item, not two.
   * A WAV that appeared since is still a hit (the store's claim finds it on disk), a render in
   * flight is joined, and `pin` pins an entry that is already there.
   */
  async getWithoutLookup(resolved: ResolvedPhrase, options: GetOptions = {}): Promise<TtsResult> {
    const { key } = resolved
    if (this.#closing) throw new TtsError('TTS_ERR_SHUTTING_DOWN')
    const priority = options.priority ?? 'live'
    const { promise, joined } = this.#flights.run(key, (signal) => this.#produce(resolved, options, signal), {
      signal: options.signal,
      keepAlive: options.keepAlive ?? priority === 'prewarm',
    })
    if (joined) {
      this.#deps.observer?.coalesced?.(options.source ?? 'cli')
      if (priority === 'live') this.#deps.queue.promote?.(key)
    }
    const produced = await promise
    let entry = produced.entry
    if (options.pin === true && !entry.pinned) {
      await this.#deps.store.pin(key)
      entry = this.#deps.store.peek(key) ?? entry
    }
    const status: ResultStatus = joined ? 'coalesced' : STATUS_OF[produced.how]
    return toResult(entry, status)
  }

  async #produce(resolved: ResolvedPhrase, options: GetOptions, signal: AbortSignal): Promise<Produced> {
    const { key, request, engineVersion } = resolved
    const claim = await this.#deps.store.claim(key, { signal, replace: options.refresh === true })
    if (claim.state !== 'owned') return { entry: claim.entry, how: claim.state }
    const { slot } = claim
    try {
      // A miss for an engine that is not there fails now, not after a wait in the queue.
      const down = this.#deps.engines.unavailable?.(request.engine)
      if (down !== undefined) throw down
      const audio = await this.#deps.queue
        .render({ key, request, engineVersion, outPath: slot.tempPath }, { priority: options.priority ?? 'live', signal, refresh: options.refresh === true })
        // The store may know better why it failed (its disk is full).
        .catch(async (err: unknown) => {
          throw (await slot.explainFailure?.(err)) ?? err
        })
      const { text, voice, engine, sampleRate, format } = request
      const entry = await slot.commit({ text, voice, engine, engineVersion, sampleRate, format, pinned: options.pin === true }, audio)
      return { entry, how: audio.origin ?? 'rendered' }
    } finally {
      await slot.release()
    }
  }

  /** Refuse new renders and wait (at most `graceMs`) for the ones in flight. */
  async close(graceMs: number): Promise<void> {
    this.#closing = true
    const pending = this.#flights.inFlight()
    if (pending.length === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(pending),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs)
        timer.unref()
      }),
    ])
    clearTimeout(timer)
  }
}

const STATUS_OF: Readonly<Record<Produced['how'], ResultStatus>> = {
  rendered: 'rendered',
  exists: 'hit',
  cached: 'hit',
  'published-by-peer': 'coalesced',
  joined: 'coalesced',
}

function toResult(entry: CacheEntry, status: ResultStatus): TtsResult {
  return { key: entry.key, path: entry.path, status, bytes: entry.bytes, durationMs: entry.durationMs, entry }
}
