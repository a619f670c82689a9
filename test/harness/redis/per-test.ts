/**
 * A redis-server of its own for each test of a describe (one a test may kill, freeze or restart),
 * and the list of cleanups run after each test, newest first (the server's stop is the oldest).
 * Call it inside the describe.
 */
import { afterEach, beforeEach } from 'vitest'
import { spawnRedisServer, type SpawnedRedis } from './server.js'

export interface RedisPerTest {
  /** This test's redis-server. */
  redis(): SpawnedRedis
  /** Run after this test, newest first. */
  readonly cleanups: (() => Promise<unknown>)[]
}

export function redisPerTest(): RedisPerTest {
  let current: SpawnedRedis | undefined
  const cleanups: (() => Promise<unknown>)[] = []
  beforeEach(async () => {
    const spawned = await spawnRedisServer()
    current = spawned
    cleanups.push(() => spawned.stop())
  })
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    current = undefined
  })
  return {
    redis: () => {
      if (current === undefined) throw new Error('redisPerTest: no redis-server outside a test')
      return current
    },
    cleanups,
  }
}
