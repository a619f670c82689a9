import { afterEach, describe, expect, it } from 'vitest'
import { TtsError } from '../../../src/core/errors.js'
import type { Clock, Priority, RenderJob, RenderedAudio } from '../../../src/core/ports/index.js'
import { abortError } from '../../../src/core/single-flight.js'
import { InProcessRenderPool, type InProcessRenderPoolOptions } from '../../../src/queue/in-process/render-pool.js'
import { renderJob, silentLogger } from '../../fixtures/engines/helpers.js'

interface Deferred<T> {
  readonly promise: Promise<T>
  resolve(value: T): void
  reject(err: unknown): void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

interface Call {
  readonly job: RenderJob
  readonly signal: AbortSignal
  readonly result: Deferred<RenderedAudio>
}

/** A renderer whose renders finish only when the test says so; it honours abort like the real one. */
class FakeRenderer {
  readonly calls: Call[] = []
  active = 0
  maxActive = 0
  readonly #startWaiters: { count: number; resolve: () => void }[] = []

  readonly render = (job: RenderJob, signal: AbortSignal): Promise<RenderedAudio> => {
    const result = deferred<RenderedAudio>()
    this.calls.push({ job, signal, result })
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
    signal.addEventListener('abort', () => result.reject(abortError(signal)), { once: true })
    for (const waiter of this.#startWaiters.filter((w) => this.calls.length >= w.count)) waiter.resolve()
    return result.promise.finally(() => {
      this.active--
    })
  }

  /** Resolves once `count` renders have started in total (a handshake, not a sleep). */
  started(count: number): Promise<void> {
    if (this.calls.length >= count) return Promise.resolve()
    return new Promise((resolve) => this.#startWaiters.push({ count, resolve }))
  }

  call(index: number): Call {
    const call = this.calls[index]
    if (call === undefined) throw new Error(`render #${index} has not started`)
    return call
  }

  keys(): string[] {
    return this.calls.map((c) => c.job.key)
  }
}

const AUDIO: RenderedAudio = { bytes: 1000, durationMs: 500 }

function job(key: string): RenderJob {
  return renderJob(`/cache/${key}.tmp`, `text for ${key}`, { key })
}

function pool(renderer: FakeRenderer, options: Partial<InProcessRenderPoolOptions> = {}): InProcessRenderPool {
  const created = new InProcessRenderPool({ renderer: renderer.render, logger: silentLogger, ...options })
  pools.push(created)
  return created
}

const pools: InProcessRenderPool[] = []
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close(0)))
})

async function rejection(promise: Promise<unknown>): Promise<TtsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(err instanceof TtsError)) throw new Error(`expected a TtsError rejection, got ${String(err)}`)
  return err
}

function render(p: InProcessRenderPool, key: string, priority: Priority = 'live', signal?: AbortSignal): Promise<RenderedAudio> {
  return p.render(job(key), signal === undefined ? { priority } : { priority, signal })
}

class FakeClock implements Clock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms
  }
}

describe('InProcessRenderPool', () => {
  it('never runs more renders at once than its concurrency', async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 2 })
    const results = ['a', 'b', 'c', 'd', 'e'].map((key) => render(p, key))

    await renderer.started(2)
    expect(p.stats()).toMatchObject({ active: 2, waiting: 3, concurrency: 2 })
    renderer.call(0).result.resolve(AUDIO)
    await renderer.started(3)
    expect(p.stats()).toMatchObject({ active: 2, waiting: 2 })
    for (let i = 1; i < 5; i++) {
      renderer.call(i).result.resolve({ bytes: i, durationMs: i })
      // Two run at a time: once render i has finished, render i + 2 has started (up to the last).
      await renderer.started(Math.min(i + 3, 5))
    }

    expect(await Promise.all(results)).toEqual([AUDIO, ...[1, 2, 3, 4].map((i) => ({ bytes: i, durationMs: i }))])
    expect(renderer.maxActive).toBe(2)
    expect(renderer.keys()).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(p.stats()).toMatchObject({ active: 0, waiting: 0 })
  })

  it('defaults to one render per CPU and a queue of 1000', () => {
    const stats = pool(new FakeRenderer()).stats()
    expect(stats.concurrency).toBeGreaterThanOrEqual(1)
    expect(stats.limit).toBe(1000)
  })

  it('rejects at once with TTS_ERR_OVERLOADED and a Retry-After when the queue is full', async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 1, queueLimit: 2 })
    const running = render(p, 'a')
    const queued = [render(p, 'b'), render(p, 'c')]
    await renderer.started(1)

    const err = await rejection(render(p, 'd'))

    expect(err.code).toBe('TTS_ERR_OVERLOADED')
    expect(err.message).toBe('render queue is full (2 waiting)')
    expect(err.status).toBe(503)
    // No render has finished yet: the drain rate is unknown, so the estimate is the maximum.
    expect(err.retryAfterSeconds).toBe(60)
    expect(renderer.keys()).toEqual(['a'])
    renderer.call(0).result.resolve(AUDIO)
    await renderer.started(2)
    renderer.call(1).result.resolve(AUDIO)
    await renderer.started(3)
    renderer.call(2).result.resolve(AUDIO)
    await Promise.all([running, ...queued])
  })

  it('estimates Retry-After from the recent drain rate (injected clock)', async () => {
    const clock = new FakeClock(1_000_000)
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 1, queueLimit: 1, clock, drainWindowSeconds: 30 })
    // 5 renders finish over the pool's first 10 s: 0.5 per second.
    for (let i = 0; i < 5; i++) {
      const done = render(p, `done-${i}`)
      await renderer.started(i + 1)
      clock.ms += 2000
      renderer.call(i).result.resolve(AUDIO)
      await done
    }
    expect(p.stats().drainPerSecond).toBeCloseTo(0.5)
    const running = render(p, 'running')
    const waiting = render(p, 'waiting')
    await renderer.started(6)

    const err = await rejection(render(p, 'rejected'))

    // One waiting ahead, plus this one, at 0.5/s: 4 s.
    expect(err.retryAfterSeconds).toBe(4)
    renderer.call(5).result.resolve(AUDIO)
    await renderer.started(7)
    renderer.call(6).result.resolve(AUDIO)
    await Promise.all([running, waiting])
  })

  it('with a queue limit of 0, rejects as soon as every worker is busy', async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 1, queueLimit: 0 })
    const running = render(p, 'a')
    await renderer.started(1)
    expect((await rejection(render(p, 'b'))).code).toBe('TTS_ERR_OVERLOADED')
    renderer.call(0).result.resolve(AUDIO)
    await running
  })

  it('runs live jobs before pre-warm jobs, each list in FIFO order', async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 1 })
    const all = [
      render(p, 'blocker', 'prewarm'),
      render(p, 'prewarm-1', 'prewarm'),
      render(p, 'prewarm-2', 'prewarm'),
      render(p, 'live-1', 'live'),
      render(p, 'live-2', 'live'),
    ]
    for (let i = 0; i < 5; i++) {
      await renderer.started(i + 1)
      renderer.call(i).result.resolve(AUDIO)
    }
    await Promise.all(all)
    expect(renderer.keys()).toEqual(['blocker', 'live-1', 'live-2', 'prewarm-1', 'prewarm-2'])
  })

  it('promote(key) moves a queued pre-warm job to the end of the live list', async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 1 })
    const all = [
      render(p, 'blocker'),
      render(p, 'prewarm-1', 'prewarm'),
      render(p, 'prewarm-2', 'prewarm'),
      render(p, 'live-1', 'live'),
    ]
    p.promote('prewarm-2')
    p.promote('not-queued')
    for (let i = 0; i < 4; i++) {
      await renderer.started(i + 1)
      renderer.call(i).result.resolve(AUDIO)
    }
    await Promise.all(all)
    expect(renderer.keys()).toEqual(['blocker', 'live-1', 'prewarm-2', 'prewarm-1'])
  })

  it('an aborted queued job leaves the queue at once and never renders', async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 1 })
    const running = render(p, 'a')
    const controller = new AbortController()
    const queued = render(p, 'b', 'live', controller.signal)
    await renderer.started(1)
    expect(p.stats().waiting).toBe(1)

    controller.abort()

    expect((await rejection(queued)).code).toBe('TTS_ERR_ABORTED')
    expect(p.stats().waiting).toBe(0)
    renderer.call(0).result.resolve(AUDIO)
    await running
    expect(renderer.keys()).toEqual(['a'])
  })

  it('an abort reason that is a TtsError is what the caller gets', async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 1 })
    const running = render(p, 'a')
    const controller = new AbortController()
    const queued = render(p, 'b', 'live', controller.signal)
    const reason = new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [100] })
    controller.abort(reason)
    expect(await rejection(queued)).toBe(reason)
    await renderer.started(1)
    renderer.call(0).result.resolve(AUDIO)
    await running
  })

  it('an already aborted signal is rejected without queueing', async () => {
    const p = pool(new FakeRenderer(), { concurrency: 1 })
    expect((await rejection(render(p, 'a', 'live', AbortSignal.abort()))).code).toBe('TTS_ERR_ABORTED')
    expect(p.stats()).toMatchObject({ waiting: 0, active: 0 })
  })

  it("aborting a running job aborts the renderer's signal and frees its slot", async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 1 })
    const controller = new AbortController()
    const running = render(p, 'a', 'live', controller.signal)
    const next = render(p, 'b')
    await renderer.started(1)

    controller.abort()

    expect((await rejection(running)).code).toBe('TTS_ERR_ABORTED')
    expect(renderer.call(0).signal.aborted).toBe(true)
    await renderer.started(2)
    renderer.call(1).result.resolve(AUDIO)
    expect(await next).toEqual(AUDIO)
  })

  it('passes typed renderer errors through and wraps anything else as TTS_ERR_INTERNAL', async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 2 })
    const typed = render(p, 'a')
    const untyped = render(p, 'b')
    await renderer.started(2)
    const engineError = new TtsError('TTS_ERR_RENDER_FAILED', { args: ['espeak-ng', 'exit code 1'] })
    renderer.call(0).result.reject(engineError)
    renderer.call(1).result.reject(new RangeError('boom'))
    expect(await rejection(typed)).toBe(engineError)
    const wrapped = await rejection(untyped)
    expect(wrapped.code).toBe('TTS_ERR_INTERNAL')
    expect(wrapped.cause).toBeInstanceOf(RangeError)
  })

  it('reports to the observer, and survives an observer that throws', async () => {
    const finished: unknown[][] = []
    const waits: number[] = []
    const renderer = new FakeRenderer()
    const p = pool(renderer, {
      concurrency: 1,
      observer: {
        renderFinished: (...args) => {
          finished.push(args)
          throw new Error('observer bug')
        },
        queueWait: (seconds) => waits.push(seconds),
      },
    })
    const ok = render(p, 'a')
    const failed = render(p, 'b')
    await renderer.started(1)
    renderer.call(0).result.resolve(AUDIO)
    await renderer.started(2)
    renderer.call(1).result.reject(new TtsError('TTS_ERR_RENDER_TIMEOUT', { args: ['espeak-ng', 10] }))
    expect(await ok).toEqual(AUDIO)
    expect((await rejection(failed)).code).toBe('TTS_ERR_RENDER_TIMEOUT')

    expect(finished.map(([engine, , okFlag, code]) => [engine, okFlag, code])).toEqual([
      ['espeak-ng', true, undefined],
      ['espeak-ng', false, 'TTS_ERR_RENDER_TIMEOUT'],
    ])
    expect(finished.every(([, seconds]) => typeof seconds === 'number' && seconds >= 0)).toBe(true)
    expect(waits).toHaveLength(2)
  })

  it('refuses a zero or fractional concurrency and a negative queue limit', () => {
    const renderer = new FakeRenderer()
    expect(() => new InProcessRenderPool({ renderer: renderer.render, concurrency: 1.5 })).toThrow(expect.objectContaining({ code: 'TTS_ERR_CONFIG' }))
    expect(() => new InProcessRenderPool({ renderer: renderer.render, queueLimit: -1 })).toThrow(expect.objectContaining({ code: 'TTS_ERR_CONFIG' }))
  })
})

describe('InProcessRenderPool.close', () => {
  it('rejects new and queued work with TTS_ERR_SHUTTING_DOWN and lets running renders finish', async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 1 })
    const running = render(p, 'a')
    const queued = [render(p, 'b'), render(p, 'c', 'prewarm')]
    await renderer.started(1)

    const closing = p.close(60_000)

    for (const q of queued) expect((await rejection(q)).code).toBe('TTS_ERR_SHUTTING_DOWN')
    expect((await rejection(render(p, 'd'))).code).toBe('TTS_ERR_SHUTTING_DOWN')
    expect(renderer.call(0).signal.aborted).toBe(false)
    renderer.call(0).result.resolve(AUDIO)
    expect(await running).toEqual(AUDIO)
    await closing
    expect(renderer.keys()).toEqual(['a'])
    expect(p.close(60_000)).toBe(closing)
  })

  it('kills renders still running after the grace period (TTS_ERR_SHUTTING_DOWN)', async () => {
    const renderer = new FakeRenderer()
    const p = pool(renderer, { concurrency: 2 })
    const running = [render(p, 'a'), render(p, 'b')]
    await renderer.started(2)

    await p.close(0)

    for (const r of running) expect((await rejection(r)).code).toBe('TTS_ERR_SHUTTING_DOWN')
    expect(renderer.calls.every((c) => c.signal.aborted)).toBe(true)
    expect(p.stats().active).toBe(0)
  })
})
