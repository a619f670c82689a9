import { describe, expect, it } from 'vitest'
import { TtsError } from '../../src/core/errors.js'
import type { Logger, QueueStats } from '../../src/core/ports/index.js'
import { PrewarmFeeder, type FeedSource } from '../../src/core/prewarm-feeder.js'

const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent }
const stats: QueueStats = { waiting: 0, active: 0, concurrency: 1, limit: 100, drainPerSecond: 1 }

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

/** A source of `n` pieces of work, each pending until the test settles it. */
function source(name: string, n: number, log: string[], settle: (() => void)[]): FeedSource {
  let i = 0
  return {
    hasNext: () => i < n,
    next: () => {
      const label = `${name}${i++}`
      return () =>
        new Promise<void>((resolve) => {
          log.push(label)
          settle.push(resolve)
        })
    },
  }
}

describe('PrewarmFeeder', () => {
  it('serves sources first in, first out, one piece at a time at concurrency 1', async () => {
    const feeder = new PrewarmFeeder({ queue: { stats: () => stats }, logger: silent }, { concurrency: 1 })
    const log: string[] = []
    const settle: (() => void)[] = []
    feeder.add(source('a', 2, log, settle))
    feeder.add(source('b', 2, log, settle))
    for (let i = 0; i < 4; i++) {
      await flush()
      settle.shift()?.()
    }
    await flush()
    expect(log).toEqual(['a0', 'a1', 'b0', 'b1'])
    expect(feeder.inFlight).toBe(0)
  })

  it('rethrows errors other than TTS_ERR_OVERLOADED at once', async () => {
    const feeder = new PrewarmFeeder({ queue: { stats: () => stats }, logger: silent })
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
    const feeder = new PrewarmFeeder({ queue: { stats: () => stats }, logger: silent })
    await feeder.close()
    const log: string[] = []
    feeder.add(source('a', 1, log, []))
    await flush()
    expect(log).toEqual([])
  })
})
