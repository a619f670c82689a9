import { describe, expect, it } from 'vitest'
import { TtsError } from '../../src/core/errors.js'
import type { Logger, QueueStats } from '../../src/core/ports/index.js'
import { toPhraseRequest } from '../../src/core/phrase.js'
import type { PrewarmOutcome } from '../../src/core/prewarm-batch.js'
import { PrewarmFeeder, type FeedSource, type PrewarmFeederDeps } from '../../src/core/prewarm-feeder.js'
import type { TtsResult } from '../../src/core/tts-service.js'

const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent }
const stats: QueueStats = { waiting: 0, active: 0, concurrency: 1, limit: 100, drainPerSecond: 1 }

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

/** A service whose hand-overs log the task's text and stay pending until the test settles them. */
function heldService(log: string[], settle: (() => void)[]): PrewarmFeederDeps['service'] {
  return {
    getWithoutLookup: (resolved) =>
      new Promise<TtsResult>((resolve) => {
        log.push(resolved.request.text)
        settle.push(() => resolve({ status: 'rendered' } as TtsResult))
      }),
  }
}

/** A source of `n` tasks named `<name><i>`, recording each outcome. */
function source(name: string, n: number, outcomes: PrewarmOutcome[] = []): FeedSource {
  let i = 0
  return {
    id: name,
    hasNext: () => i < n,
    take: () => {
      const index = i++
      const request = toPhraseRequest({ text: `${name}${index}` }, { engine: 'espeak-ng', voice: '', sampleRate: 8000, maxTextChars: 100 })
      return { index, pin: false, resolved: { request, key: `${name}${index}`, engineVersion: '1' } }
    },
    settled: (outcome) => outcomes.push(outcome),
  }
}

const idle: PrewarmFeederDeps['service'] = { getWithoutLookup: () => Promise.reject(new Error('not used')) }

describe('PrewarmFeeder', () => {
  it('serves sources first in, first out, one piece at a time at concurrency 1', async () => {
    const log: string[] = []
    const settle: (() => void)[] = []
    const outcomes: PrewarmOutcome[] = []
    const feeder = new PrewarmFeeder({ service: heldService(log, settle), queue: { stats: () => stats }, logger: silent }, { concurrency: 1 })
    feeder.add(source('a', 2, outcomes))
    feeder.add(source('b', 2, outcomes))
    for (let i = 0; i < 4; i++) {
      await flush()
      settle.shift()?.()
    }
    await flush()
    expect(log).toEqual(['a0', 'a1', 'b0', 'b1'])
    expect(outcomes).toEqual(Array.from({ length: 4 }, () => ({ status: 'rendered' })))
    expect(feeder.inFlight).toBe(0)
  })

  it('rethrows errors other than TTS_ERR_OVERLOADED at once', async () => {
    const feeder = new PrewarmFeeder({ service: idle, queue: { stats: () => stats }, logger: silent })
    let attempts = 0
    await expect(
      feeder.retryWhileOverloaded(async () => {
        attempts++
        throw new TtsError('TTS_ERR_RENDER_FAILED', { args: ['x', 'y'] })
      }),
    ).rejects.toMatchObject({ code: 'TTS_ERR_RENDER_FAILED' })
    expect(attempts).toBe(1)
  })

  it('gives up a backoff with TTS_ERR_SHUTTING_DOWN when closed meanwhile', async () => {
    const waits: number[] = []
    const feeder = new PrewarmFeeder({
      service: idle,
      queue: { stats: () => stats },
      logger: silent,
      wait: (ms, signal) =>
        new Promise((resolve) => {
          waits.push(ms)
          signal.addEventListener('abort', () => resolve(), { once: true })
        }),
    })
    const attempt = feeder.retryWhileOverloaded(async () => {
      throw new TtsError('TTS_ERR_OVERLOADED', { args: [3], retryAfterSeconds: 2 })
    })
    await flush()
    expect(waits).toEqual([2000])
    await feeder.close()
    await expect(attempt).rejects.toMatchObject({ code: 'TTS_ERR_SHUTTING_DOWN' })
  })

  it('accepts no source after close', async () => {
    const log: string[] = []
    const feeder = new PrewarmFeeder({ service: heldService(log, []), queue: { stats: () => stats }, logger: silent })
    await feeder.close()
    feeder.add(source('a', 1))
    await flush()
    expect(log).toEqual([])
  })
})
