/**
 * A node asked for a miss the moment it starts, while its Redis client is still connecting, waits
 * for that first connection (up to TTS_REDIS_FALLBACK_AFTER_MS from the start) instead of
 * rendering the sentence locally at once — another node may be rendering it. A Redis that is not
 * there at the start still gets the local fallback once the wait runs out. Which backend rendered
 * is read from the per-backend counters, never from timing.
 */
import { describe, expect, it } from 'vitest'
import { CountingRenderer } from '../../fakes/counting-renderer.js'
import { startTestNode } from '../../harness/redis/test-nodes.js'
import { freePort, redisServerInstalled, uniquePrefix } from '../../harness/redis/server.js'
import { redisPerTest } from '../../harness/redis/per-test.js'

describe.skipIf(!redisServerInstalled())('a node before its first Redis connection', () => {
  const { redis, cleanups } = redisPerTest()

  it('sends a miss asked at once through the cluster, not to its local pool', async () => {
    const engine = new CountingRenderer()
    // A long grace: the connection, not the timer, must end the wait.
    const node = await startTestNode({ redisUrl: redis().url, prefix: uniquePrefix('first'), renderer: engine, config: { workersInProcess: true, redisFallbackAfterMs: 60_000 } })
    cleanups.push(() => node.close())
    const asked = node.service.get({ text: 'Asked as the node starts.' })
    expect((await asked).status).toBe('rendered')
    expect(node.queue.backendCounts()).toMatchObject({ cluster: 1, local: 0 })
    expect(engine.runs).toBe(1)
    expect(node.localRenderer.runs).toBe(0)
  })

  it('renders locally once the wait runs out when Redis is not there at the start, then at once', async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`
    const node = await startTestNode({ redisUrl: nobody, prefix: uniquePrefix('first-down'), config: { redisFallbackAfterMs: 200 } })
    cleanups.push(() => node.close())
    expect((await node.service.get({ text: 'Nobody at the start.' })).status).toBe('rendered')
    expect((await node.service.get({ text: 'Nobody, later.' })).status).toBe('rendered')
    expect(node.queue.backendCounts()).toMatchObject({ cluster: 0, local: 2 })
    expect(node.queue.readiness()).toMatchObject({ ok: true, state: 'degraded' })
  })
})
