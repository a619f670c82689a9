import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AUDIO_FORMAT } from '../../src/core/defaults.js'
import { TtsError } from '../../src/core/errors.js'
import { toPhraseRequest, type PhraseInput } from '../../src/core/phrase.js'
import type { CacheEntry, Logger, QueueStats } from '../../src/core/ports/index.js'
import { PrewarmBatches, type PrewarmBatchesOptions } from '../../src/core/prewarm-batches.js'
import type { GetOptions, ResolvedPhrase, TtsObserver, TtsResult } from '../../src/core/tts-service.js'

const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent }

interface Call {
  readonly key: string
  readonly options: GetOptions
  resolve(status?: 'rendered' | 'coalesced' | 'hit'): void
  reject(err: unknown): void
}

/** A TtsService stand-in whose getWithoutLookup calls (the hand-over) stay pending until the test settles them. */
class ControlledService {
  readonly cache = new Map<string, { pinned: boolean }>()
  readonly calls: Call[] = []
  inFlight = 0
  maxInFlight = 0

  resolve(input: PhraseInput): ResolvedPhrase {
    const request = toPhraseRequest(input, { engine: 'espeak-ng', voice: '', sampleRate: 8000, maxTextChars: 100 })
    if (request.voice === 'nobody') throw new TtsError('TTS_ERR_UNKNOWN_VOICE', { args: ['espeak-ng', 'nobody'] })
    return { request, key: createHash('sha256').update(JSON.stringify(request)).digest('hex'), engineVersion: '1' }
  }

  lookupKey(key: string): CacheEntry | undefined {
    const hit = this.cache.get(key)
    return hit === undefined ? undefined : entry(key, hit.pinned)
  }

  getWithoutLookup(resolved: ResolvedPhrase, options: GetOptions = {}): Promise<TtsResult> {
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    return new Promise<TtsResult>((resolve, reject) => {
      this.calls.push({
        key: resolved.key,
        options,
        resolve: (status = 'rendered') => {
          this.inFlight--
          this.cache.set(resolved.key, { pinned: options.pin === true })
          const e = entry(resolved.key, options.pin === true)
          resolve({ key: e.key, path: e.path, status, bytes: e.bytes, durationMs: e.durationMs, entry: e })
        },
        reject: (err) => {
          this.inFlight--
          reject(err)
        },
      })
    })
  }

  /** Settles the oldest unsettled calls. */
  settle(count: number, how: (call: Call) => void = (c) => c.resolve()): void {
    for (const call of this.calls.splice(0, count)) how(call)
  }
}

function entry(key: string, pinned: boolean): CacheEntry {
  return {
    key,
    path: `/cache/${key}.wav`,
    voice: '',
    engine: 'espeak-ng',
    engineVersion: '1',
    sampleRate: 8000,
    format: AUDIO_FORMAT,
    bytes: 1000,
    durationMs: 60,
    createdAt: 0,
    pinned,
  }
}

class FakeQueue {
  stats: QueueStats = { waiting: 0, active: 0, concurrency: 2, limit: 100, drainPerSecond: 4 }
}

/** Lets every pending microtask and promise callback run (no timers involved). */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

/** A `wait` whose timers fire only when the test says so. */
class ManualWait {
  readonly pending: { ms: number; fire: () => void }[] = []
  readonly wait = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      this.pending.push({ ms, fire: resolve })
      signal.addEventListener('abort', () => resolve(), { once: true })
    })

  fireAll(): void {
    for (const p of this.pending.splice(0)) p.fire()
  }
}

function setup(options: PrewarmBatchesOptions = {}, observer?: TtsObserver) {
  const service = new ControlledService()
  const queue = new FakeQueue()
  const waits = new ManualWait()
  let n = 0
  const batches = new PrewarmBatches(
    { service, queue: { stats: () => queue.stats }, logger: silent, observer, newId: () => `batch-${++n}`, wait: waits.wait, clock: { now: () => 1000 } },
    options,
  )
  return { service, queue, waits, batches }
}

const items = (count: number, prefix = 'phrase'): { text: string }[] => Array.from({ length: count }, (_, i) => ({ text: `${prefix} ${i}` }))

describe('PrewarmBatches', () => {
  it('accepts valid items, lists invalid ones with their index and code, and counts what is cached', async () => {
    const { service, batches } = setup()
    service.cache.set(service.resolve({ text: 'already here' }).key, { pinned: false })
    const accepted = batches.submit([{ text: 'already here' }, { text: '' }, { text: 'new one' }, { text: 'x', voice: '../etc' }, { text: 'y', voice: 'nobody' }])
    expect(accepted).toEqual({
      id: 'batch-1',
      total: 5,
      cached: 1,
      queued: 1,
      rejected: [
        { index: 1, code: 'TTS_ERR_TEXT_EMPTY', message: expect.any(String) },
        { index: 3, code: 'TTS_ERR_INVALID_VOICE', message: expect.any(String) },
        { index: 4, code: 'TTS_ERR_UNKNOWN_VOICE', message: expect.any(String) },
      ],
    })
    expect(batches.progress('batch-1')).toMatchObject({ state: 'running', total: 5, done: 1, failed: 3, cached: 1 })
    await flush()
    service.settle(1)
    await flush()
    expect(batches.progress('batch-1')).toMatchObject({ state: 'done', total: 5, done: 2, failed: 3, rendered: 1, finishedAt: 1000 })
  })

  it('submits at pre-warm priority, keeps the render alive, pins when asked and reports source prewarm', async () => {
    const results: string[] = []
    const { service, batches } = setup({}, { result: (source, status) => results.push(`${source}:${status}`), failure: (source, code) => results.push(`${source}:${code}`) })
    batches.submit([{ text: 'a', pin: true }, { text: 'b' }])
    await flush()
    expect(service.calls.map((c) => c.options)).toEqual([
      { priority: 'prewarm', pin: true, source: 'prewarm', keepAlive: true },
      { priority: 'prewarm', pin: false, source: 'prewarm', keepAlive: true },
    ])
    service.settle(1)
    service.settle(1, (c) => c.reject(new TtsError('TTS_ERR_RENDER_FAILED', { args: ['espeak-ng', 'exit 1'] })))
    await flush()
    expect(results).toEqual(['prewarm:rendered', 'prewarm:TTS_ERR_RENDER_FAILED'])
    expect(batches.progress('batch-1')).toMatchObject({
      state: 'done',
      done: 1,
      failed: 1,
      errors: [{ index: 1, code: 'TTS_ERR_RENDER_FAILED', message: expect.stringContaining('exit 1') }],
    })
  })

  it('never has more items in flight than its concurrency, however large the batch', async () => {
    const { service, batches } = setup({ concurrency: 3 })
    batches.submit(items(50))
    await flush()
    expect(service.calls).toHaveLength(3)
    expect(batches.pendingItems).toBe(47)
    while (service.calls.length > 0) {
      service.settle(1)
      await flush()
    }
    expect(service.maxInFlight).toBe(3)
    expect(batches.progress('batch-1')).toMatchObject({ state: 'done', done: 50, failed: 0, rendered: 50 })
  })

  it('derives its concurrency from the queue: twice the workers, at most a quarter of the limit', async () => {
    const { service, queue, batches } = setup()
    queue.stats = { ...queue.stats, concurrency: 8, limit: 12 }
    batches.submit(items(20))
    await flush()
    expect(service.calls).toHaveLength(3)
  })

  it('hands nothing over while the queue is half full, and resumes when it drains', async () => {
    const { service, queue, waits, batches } = setup({ concurrency: 10 })
    queue.stats = { ...queue.stats, waiting: 50, limit: 100 }
    batches.submit(items(5))
    await flush()
    expect(service.calls).toHaveLength(0)
    expect(waits.pending).toHaveLength(1)
    queue.stats = { ...queue.stats, waiting: 0 }
    waits.fireAll()
    await flush()
    expect(service.calls).toHaveLength(5)
  })

  it('retries an item the queue refused as overloaded, after the Retry-After it was given', async () => {
    const { service, waits, batches } = setup({ concurrency: 1 })
    batches.submit(items(1))
    await flush()
    service.settle(1, (c) => c.reject(new TtsError('TTS_ERR_OVERLOADED', { args: [10], retryAfterSeconds: 3 })))
    await flush()
    expect(waits.pending.map((p) => p.ms)).toEqual([3000])
    expect(service.calls).toHaveLength(0)
    waits.fireAll()
    await flush()
    expect(service.calls).toHaveLength(1)
    service.settle(1)
    await flush()
    expect(batches.progress('batch-1')).toMatchObject({ state: 'done', done: 1, failed: 0 })
  })

  it('gives up on an item after the configured number of overloaded attempts', async () => {
    const { service, waits, batches } = setup({ concurrency: 1, overloadAttempts: 2 })
    batches.submit(items(1))
    for (let i = 0; i < 2; i++) {
      await flush()
      service.settle(1, (c) => c.reject(new TtsError('TTS_ERR_OVERLOADED', { args: [10] })))
      await flush()
      waits.fireAll()
    }
    await flush()
    expect(batches.progress('batch-1')).toMatchObject({ state: 'done', done: 0, failed: 1, errors: [{ index: 0, code: 'TTS_ERR_OVERLOADED' }] })
  })

  it('is idempotent: a second identical batch finds everything cached and renders nothing', async () => {
    const { service, batches } = setup()
    batches.submit(items(4))
    await flush()
    service.settle(4)
    await flush()
    const again = batches.submit(items(4))
    await flush()
    expect(again).toMatchObject({ total: 4, cached: 4, queued: 0, rejected: [] })
    expect(service.calls).toHaveLength(0)
    expect(batches.progress(again.id)).toMatchObject({ state: 'done', done: 4, cached: 4 })
  })

  it('pins a cached entry that a batch asks to pin, without counting it as queued', async () => {
    const { service, batches } = setup()
    const key = service.resolve({ text: 'keep me' }).key
    service.cache.set(key, { pinned: false })
    const accepted = batches.submit([{ text: 'keep me', pin: true }])
    expect(accepted).toMatchObject({ cached: 1, queued: 0 })
    await flush()
    expect(service.calls.map((c) => c.options.pin)).toEqual([true])
    service.settle(1, (c) => c.resolve('hit'))
    await flush()
    expect(service.cache.get(key)).toEqual({ pinned: true })
    expect(batches.progress(accepted.id)).toMatchObject({ state: 'done', done: 1, cached: 1 })
  })

  it('keeps at most maxBatches, forgetting the oldest finished one first', async () => {
    const { service, batches } = setup({ maxBatches: 2 })
    const first = batches.submit([{ text: '' }])
    const second = batches.submit(items(1))
    expect(batches.progress(first.id)?.state).toBe('done')
    const third = batches.submit([{ text: '' }])
    expect(batches.progress(first.id)).toBeUndefined()
    expect(batches.progress(second.id)?.state).toBe('running')
    expect(batches.progress(third.id)?.state).toBe('done')
    await flush()
    service.settle(1)
  })

  it('refuses a new batch with TTS_ERR_OVERLOADED when every kept batch is still running', async () => {
    const { batches } = setup({ maxBatches: 1 })
    batches.submit(items(1))
    expect(() => batches.submit(items(1, 'other'))).toThrowError(expect.objectContaining({ code: 'TTS_ERR_OVERLOADED', retryAfterSeconds: expect.any(Number) }))
  })

  it('refuses a batch that would leave more than maxPendingItems waiting', () => {
    const { batches } = setup({ maxPendingItems: 10, concurrency: 1 })
    batches.submit(items(8))
    expect(() => batches.submit(items(5, 'more'))).toThrowError(expect.objectContaining({ code: 'TTS_ERR_OVERLOADED' }))
    expect(batches.submit(items(2, 'fits')).queued).toBe(2)
  })

  it('on close, cancels what was not handed over, waits for what was, and refuses new batches', async () => {
    const { service, batches } = setup({ concurrency: 2 })
    batches.submit(items(5))
    await flush()
    const closed = batches.close(60_000)
    service.settle(2)
    await closed
    expect(batches.progress('batch-1')).toMatchObject({
      state: 'cancelled',
      done: 2,
      failed: 3,
      errors: [{ index: -1, code: 'TTS_ERR_SHUTTING_DOWN' }],
    })
    expect(() => batches.submit(items(1))).toThrowError(expect.objectContaining({ code: 'TTS_ERR_SHUTTING_DOWN' }))
  })

  it('keeps only the first maxErrorsKept failures in the progress report', () => {
    const { batches } = setup({ maxErrorsKept: 2 })
    const accepted = batches.submit([{ text: '' }, { text: ' ' }, { text: '\t' }])
    expect(accepted.rejected).toHaveLength(3)
    expect(batches.progress(accepted.id)?.errors).toHaveLength(2)
  })
})
