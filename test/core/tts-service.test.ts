/**
 * TtsService on its ports alone: an in-memory audio store, a render queue whose renders the test
 * holds and fails at will, and the fixed FakeEngineCatalog. No disk, no engine, no clock.
 */
import { describe, expect, it } from 'vitest'
import { TtsError, type ErrorCode } from '../../src/core/errors.js'
import type {
  AudioStore,
  CacheEntry,
  ClaimOptions,
  ClaimResult,
  EntryMeta,
  QueueStats,
  RenderedAudio,
  RenderJob,
  RenderOptions,
  RenderQueue,
  RequestSource,
  ResultStatus,
  TtsObserver,
} from '../../src/core/ports/index.js'
import { TtsService } from '../../src/core/tts-service.js'
import { silentLogger } from '../fixtures/engines/helpers.js'
import { FakeEngineCatalog } from '../fakes/engine-catalogs.js'

/** The store's index in a Map; `claim` always owns (no other process shares it). */
class MemoryStore implements AudioStore {
  readonly #entries = new Map<string, CacheEntry>()
  readonly claims: { key: string; options: ClaimOptions | undefined }[] = []
  readonly pinned: string[] = []
  released = 0

  lookup(key: string): CacheEntry | undefined {
    return this.#entries.get(key)
  }

  peek(key: string): CacheEntry | undefined {
    return this.#entries.get(key)
  }

  async find(key: string): Promise<CacheEntry | undefined> {
    return this.#entries.get(key)
  }

  async describe(): Promise<undefined> {
    return undefined
  }

  async claim(key: string, options?: ClaimOptions): Promise<ClaimResult> {
    this.claims.push({ key, options })
    const existing = this.#entries.get(key)
    if (existing !== undefined && options?.replace !== true) return { state: 'exists', entry: existing }
    const tempPath = `/memory/${key}.tmp`
    return {
      state: 'owned',
      slot: {
        key,
        tempPath,
        commit: async (meta: Omit<EntryMeta, 'key' | 'bytes' | 'durationMs' | 'createdAt'>, audio: RenderedAudio) => {
          const { text: _text, ...rest } = meta
          const entry: CacheEntry = { ...rest, key, bytes: audio.bytes, durationMs: audio.durationMs, createdAt: 0, path: this.pathFor(key) }
          this.#entries.set(key, entry)
          return entry
        },
        release: async () => {
          this.released++
        },
      },
    }
  }

  async pin(key: string): Promise<void> {
    this.pinned.push(key)
    const entry = this.#entries.get(key)
    if (entry !== undefined) this.#entries.set(key, { ...entry, pinned: true })
  }

  async remove(key: string): Promise<boolean> {
    return this.#entries.delete(key)
  }

  async removeWhere(): Promise<number> {
    return 0
  }

  async countWhere(): Promise<number> {
    return 0
  }

  async removeAll(): Promise<number> {
    const count = this.#entries.size
    this.#entries.clear()
    return count
  }

  entries(): Iterable<CacheEntry> {
    return this.#entries.values()
  }

  stats() {
    return { entries: this.#entries.size, bytes: 0, pinnedEntries: 0, pinnedBytes: 0, maxBytes: 0, evictions: 0 }
  }

  pathFor(key: string): string {
    return `/memory/${key}.wav`
  }
}

interface QueuedRender {
  readonly job: RenderJob
  readonly options: RenderOptions
  readonly signal: AbortSignal
}

/** Records every render; `hold()` keeps renders running until `release()`; `failNext` fails one. */
class ScriptedQueue implements RenderQueue {
  readonly renders: QueuedRender[] = []
  readonly promoted: string[] = []
  #held: { promise: Promise<void>; open: () => void } | undefined
  readonly #failures: TtsError[] = []
  readonly #startWaiters: (() => void)[] = []

  async render(job: RenderJob, options: RenderOptions): Promise<RenderedAudio> {
    const signal = options.signal ?? new AbortController().signal
    this.renders.push({ job, options, signal })
    this.#startWaiters.splice(0).forEach((resolve) => resolve())
    if (this.#held !== undefined) {
      const held = this.#held.promise
      await new Promise<void>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(new TtsError('TTS_ERR_ABORTED')), { once: true })
        void held.then(resolve)
      })
    }
    const failure = this.#failures.shift()
    if (failure !== undefined) throw failure
    return { bytes: 1000 + job.request.text.length, durationMs: 60 }
  }

  hold(): void {
    let open!: () => void
    const promise = new Promise<void>((resolve) => {
      open = resolve
    })
    this.#held = { promise, open }
  }

  release(): void {
    this.#held?.open()
    this.#held = undefined
  }

  failNext(error: TtsError): void {
    this.#failures.push(error)
  }

  /** Resolves once a render has started (at once when one already has). */
  started(): Promise<void> {
    if (this.renders.length > 0) return Promise.resolve()
    return new Promise((resolve) => this.#startWaiters.push(resolve))
  }

  promote(key: string): void {
    this.promoted.push(key)
  }

  stats(): QueueStats {
    return { waiting: 0, active: 0, concurrency: 1, limit: 1, drainPerSecond: 0 }
  }

  async close(): Promise<void> {
    this.release()
  }
}

class RecordingObserver implements TtsObserver {
  readonly results: [RequestSource, ResultStatus][] = []
  readonly failures: [RequestSource, ErrorCode][] = []
  readonly coalesces: RequestSource[] = []

  result(source: RequestSource, status: ResultStatus, seconds: number): void {
    expect(seconds).toBeGreaterThanOrEqual(0)
    this.results.push([source, status])
  }

  failure(source: RequestSource, code: ErrorCode): void {
    this.failures.push([source, code])
  }

  coalesced(source: RequestSource): void {
    this.coalesces.push(source)
  }
}

function setup() {
  const store = new MemoryStore()
  const queue = new ScriptedQueue()
  const observer = new RecordingObserver()
  const service = new TtsService({
    store,
    queue,
    engines: new FakeEngineCatalog(),
    defaults: { engine: 'espeak-ng', voice: 'en', sampleRate: 8000, maxTextChars: 500 },
    logger: silentLogger,
    observer,
  })
  return { store, queue, observer, service }
}

const PHRASE = { text: 'Your call is important to us.' }

describe('TtsService', () => {
  it('renders a miss once through the queue into the store’s slot, then serves it as a hit without rendering', async () => {
    const { store, queue, observer, service } = setup()
    const first = await service.get(PHRASE, { source: 'http' })
    expect(first.status).toBe('rendered')
    expect(queue.renders).toHaveLength(1)
    const [render] = queue.renders
    expect(render?.job).toMatchObject({ key: first.key, outPath: `/memory/${first.key}.tmp`, engineVersion: 'fake-1' })
    expect(render?.job.request).toMatchObject({ text: PHRASE.text, engine: 'espeak-ng', voice: 'en', sampleRate: 8000 })
    expect(render?.options).toMatchObject({ priority: 'live', refresh: false })
    expect(first.bytes).toBe(1000 + PHRASE.text.length)
    expect(store.released).toBe(1)

    const second = await service.get(PHRASE, { source: 'esl' })
    expect(second).toMatchObject({ status: 'hit', key: first.key, path: `/memory/${first.key}.wav` })
    expect(queue.renders).toHaveLength(1)
    expect(observer.results).toEqual([
      ['http', 'rendered'],
      ['esl', 'hit'],
    ])
  })

  it('answers a hit from `hit` at once, and after its miss `getAfterMiss` renders with no second lookup, each counted once', async () => {
    const { store, queue, observer, service } = setup()
    let lookups = 0
    const realLookup = store.lookup.bind(store)
    store.lookup = (key) => {
      lookups++
      return realLookup(key)
    }
    const resolved = service.resolve(PHRASE)
    expect(service.hit(resolved, 'esl')).toBeUndefined()
    const rendered = await service.getAfterMiss(resolved, { source: 'esl' })
    expect(rendered).toMatchObject({ status: 'rendered', key: resolved.key })
    expect(lookups).toBe(1)
    expect(queue.renders).toHaveLength(1)
    expect(service.hit(resolved, 'esl')).toMatchObject({ status: 'hit', key: resolved.key, path: `/memory/${resolved.key}.wav` })
    expect(lookups).toBe(2)
    expect(observer.results).toEqual([
      ['esl', 'rendered'],
      ['esl', 'hit'],
    ])
  })

  it('coalesces concurrent callers of one key onto a single render, and promotes it for a live joiner', async () => {
    const { queue, observer, service } = setup()
    queue.hold()
    const first = service.get(PHRASE, { source: 'prewarm', priority: 'prewarm' })
    await queue.started()
    const second = service.get(PHRASE, { source: 'http' })
    const third = service.get(PHRASE, { source: 'esl' })
    expect(service.inFlight).toBe(1)
    queue.release()
    const results = await Promise.all([first, second, third])
    expect(results.map((r) => r.status)).toEqual(['rendered', 'coalesced', 'coalesced'])
    expect(new Set(results.map((r) => r.key)).size).toBe(1)
    expect(queue.renders).toHaveLength(1)
    expect(observer.coalesces).toEqual(['http', 'esl'])
    expect(queue.promoted).toEqual([results[0]?.key, results[0]?.key])
    expect(service.inFlight).toBe(0)
  })

  it('re-renders a cached phrase on refresh, replacing it through the store and telling the queue', async () => {
    const { store, queue, service } = setup()
    const cached = await service.get(PHRASE)
    const refreshed = await service.get(PHRASE, { refresh: true })
    expect(refreshed.status).toBe('rendered')
    expect(queue.renders).toHaveLength(2)
    expect(queue.renders[1]?.options).toMatchObject({ refresh: true })
    expect(store.claims.map((c) => c.options?.replace)).toEqual([false, true])
    expect(refreshed.key).toBe(cached.key)
  })

  it('pins a rendered entry at commit, and pins a hit that was not pinned yet', async () => {
    const { store, service } = setup()
    const rendered = await service.get(PHRASE, { pin: true })
    expect(rendered.entry.pinned).toBe(true)
    expect(store.pinned).toEqual([])

    const other = { text: 'Please hold.' }
    await service.get(other)
    const hit = await service.get(other, { pin: true })
    expect(hit.status).toBe('hit')
    expect(store.pinned).toEqual([hit.key])
    expect(store.peek(hit.key)?.pinned).toBe(true)
  })

  it('seats waiters in a render in flight: one outcome for all, each counted once as a coalesced wait and once as it ends or leaves', async () => {
    const { queue, observer, service } = setup()
    const resolved = service.resolve(PHRASE)
    expect(service.seat(resolved, 'http')).toBeUndefined()
    queue.hold()
    const leader = service.getFor(resolved, { source: 'http' })
    await queue.started()
    const [a, b, c] = [service.seat(resolved, 'http'), service.seat(resolved, 'http'), service.seat(resolved, 'http')]
    expect(a?.result).toBe(b?.result)
    expect(observer.coalesces).toEqual(['http', 'http', 'http'])
    expect(queue.promoted).toEqual([resolved.key, resolved.key, resolved.key])
    expect(c?.leave(new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [100] }))).toBe(true)
    expect(observer.failures).toEqual([['http', 'TTS_ERR_DEADLINE_EXCEEDED']])
    queue.release()
    const result = await a?.result
    expect(result).toMatchObject({ status: 'coalesced', key: resolved.key })
    expect(await leader).toMatchObject({ status: 'rendered', key: resolved.key })
    // Settled: leaving changes and counts nothing; its holder ends it with the outcome.
    expect(b?.leave(new TtsError('TTS_ERR_ABORTED'))).toBe(false)
    if (result !== undefined) for (const seat of [a, b]) seat?.end(result)
    expect(observer.results).toEqual([
      ['http', 'rendered'],
      ['http', 'coalesced'],
      ['http', 'coalesced'],
    ])
    expect(observer.failures).toEqual([['http', 'TTS_ERR_DEADLINE_EXCEEDED']])
    expect(queue.renders).toHaveLength(1)
  })

  it("gives a failed render's seats its typed error, counted as each ends; no seat once the service is closing", async () => {
    const { queue, observer, service } = setup()
    const resolved = service.resolve(PHRASE)
    queue.failNext(new TtsError('TTS_ERR_RENDER_FAILED', { args: ['espeak-ng', 'exit code 1'] }))
    queue.hold()
    const leader = service.getFor(resolved, { source: 'esl' })
    await queue.started()
    const seat = service.seat(resolved, 'http')
    queue.release()
    const error = await seat?.result.then(() => undefined, (err: unknown) => err)
    expect(error).toMatchObject({ name: 'TtsError', code: 'TTS_ERR_RENDER_FAILED' })
    await expect(leader).rejects.toMatchObject({ code: 'TTS_ERR_RENDER_FAILED' })
    if (error instanceof TtsError) seat?.end(error)
    expect(observer.failures).toEqual([
      ['esl', 'TTS_ERR_RENDER_FAILED'],
      ['http', 'TTS_ERR_RENDER_FAILED'],
    ])

    queue.hold()
    const other = service.resolve({ text: 'Still rendering.' })
    const inFlight = service.getFor(other)
    await queue.started()
    const closing = service.close(10_000)
    expect(service.seat(other, 'http')).toBeUndefined()
    queue.release()
    await closing
    expect((await inFlight).status).toBe('rendered')
  })

  it('lets an aborted waiter leave without cancelling the render the others wait for', async () => {
    const { queue, observer, service } = setup()
    queue.hold()
    const leaving = new AbortController()
    const first = service.get(PHRASE, { source: 'http', signal: leaving.signal })
    await queue.started()
    const staying = service.get(PHRASE, { source: 'esl' })
    leaving.abort()
    await expect(first).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
    expect(queue.renders[0]?.signal.aborted).toBe(false)
    queue.release()
    expect((await staying).status).toBe('coalesced')
    expect(observer.failures).toEqual([['http', 'TTS_ERR_ABORTED']])
  })

  it('aborts the render when its only caller gives up (a live call keeps nothing alive)', async () => {
    const { queue, service } = setup()
    queue.hold()
    const controller = new AbortController()
    const call = service.get(PHRASE, { signal: controller.signal })
    await queue.started()
    controller.abort()
    await expect(call).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
    expect(queue.renders[0]?.signal.aborted).toBe(true)
  })

  it('after close() refuses new renders (TTS_ERR_SHUTTING_DOWN) but still serves hits and finishes what was in flight', async () => {
    const { queue, service, observer } = setup()
    const cached = await service.get(PHRASE)
    queue.hold()
    const inFlight = service.get({ text: 'Still rendering.' })
    await queue.started()
    const closing = service.close(10_000)
    await expect(service.get({ text: 'Too late.' }, { source: 'http' })).rejects.toMatchObject({ code: 'TTS_ERR_SHUTTING_DOWN' })
    expect((await service.get(PHRASE)).status).toBe('hit')
    queue.release()
    await closing
    expect((await inFlight).status).toBe('rendered')
    expect(cached.status).toBe('rendered')
    expect(queue.renders).toHaveLength(2)
    expect(observer.failures).toEqual([['http', 'TTS_ERR_SHUTTING_DOWN']])
  })

  it('does not cache a failure: the error reaches the caller typed, the slot is released, the next call renders again', async () => {
    const { store, queue, observer, service } = setup()
    queue.failNext(new TtsError('TTS_ERR_RENDER_FAILED', { args: ['espeak-ng', 'exit code 1'], details: { exitCode: 1 } }))
    await expect(service.get(PHRASE, { source: 'http' })).rejects.toMatchObject({ code: 'TTS_ERR_RENDER_FAILED', details: { exitCode: 1 } })
    expect(store.released).toBe(1)
    expect(store.entries()[Symbol.iterator]().next().done).toBe(true)
    expect(service.inFlight).toBe(0)

    const retried = await service.get(PHRASE, { source: 'http' })
    expect(retried.status).toBe('rendered')
    expect(queue.renders).toHaveLength(2)
    expect(observer.failures).toEqual([['http', 'TTS_ERR_RENDER_FAILED']])
    expect(observer.results).toEqual([['http', 'rendered']])
  })

  it('reports invalid input as a typed failure without touching the store or the queue', async () => {
    const { store, queue, observer, service } = setup()
    await expect(service.get({ text: 'x', engine: 'festival' }, { source: 'http' })).rejects.toMatchObject({ code: 'TTS_ERR_UNKNOWN_ENGINE' })
    await expect(service.get({ text: 'x', voice: 'klingon' }, { source: 'esl' })).rejects.toMatchObject({ code: 'TTS_ERR_UNKNOWN_VOICE' })
    expect(store.claims).toEqual([])
    expect(queue.renders).toEqual([])
    expect(observer.failures).toEqual([
      ['http', 'TTS_ERR_UNKNOWN_ENGINE'],
      ['esl', 'TTS_ERR_UNKNOWN_VOICE'],
    ])
  })
})
