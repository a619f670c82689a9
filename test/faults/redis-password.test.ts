/**
 * The cluster path's own log lines and errors never carry a Redis password, even through a plain
 * pino logger without the service's redaction (test/faults/log-secrets.test.ts covers that layer):
 * a real redis-server started with --requirepass, a node and a worker with a wrong password (the
 * server answers WRONGPASS; ioredis attaches the AUTH arguments to the error) and a node with the
 * right one. Also Sentinel/Cluster credentials are described without their password.
 */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import type { Logger } from '../../src/core/ports/index.js'
import { BullMqRenderWorker } from '../../src/queue/bullmq/render-worker.js'
import { describeRedisTarget } from '../../src/redis/redis-target.js'
import { CountingRenderer, startTestNode } from '../support/redis-fixtures.js'
import { redisServerInstalled, spawnRedisServer, uniquePrefix, type SpawnedRedis } from '../harness/redis-server.js'
import { redisSharedAudio } from '../../src/app/shared-audio-tier.js'

const RIGHT = 'Right-redis-pw-6d1e'
const WRONG = 'Wrong-redis-pw-93ab'

/** Every line a plain pino logger (debug, no redaction, standard err serializer) wrote; `seen(text)` resolves once a line contains it. */
class PlainLog {
  text = ''
  readonly #waiters: { needle: string; resolve: () => void }[] = []
  readonly logger: Logger = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.text += chunk.toString()
        for (const waiter of this.#waiters.filter((w) => this.text.includes(w.needle))) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
          waiter.resolve()
        }
        done()
      },
    }),
  ) as unknown as Logger

  seen(needle: string): Promise<void> {
    if (this.text.includes(needle)) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ needle, resolve }))
  }
}

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe.skipIf(!redisServerInstalled())('Redis passwords in the cluster path', () => {
  it('are not in any log line or error of a node and a worker, whether the server refuses the password or accepts it', async () => {
    const redis: SpawnedRedis = await spawnRedisServer(['--requirepass', RIGHT])
    cleanups.push(() => redis.stop())
    const log = new PlainLog()
    const prefix = uniquePrefix('secret')

    // Refused: the node logs the WRONGPASS error and renders misses locally meanwhile.
    const wrongUrl = `redis://:${WRONG}@127.0.0.1:${redis.port}`
    const refused = await startTestNode({ redisUrl: wrongUrl, prefix, logger: log.logger })
    cleanups.push(() => refused.close())
    const worker = new BullMqRenderWorker({ redisUrl: wrongUrl, prefix, sharedAudio: redisSharedAudio(prefix, 60), concurrency: 1, renderer: new CountingRenderer().render, logger: log.logger })
    cleanups.push(() => worker.close(500))
    await log.seen('WRONGPASS')
    expect((await refused.service.get({ text: 'Refused password.' })).status).toBe('rendered')
    expect(refused.localRenderer.runs).toBe(1)
    expect(refused.queue.readiness().detail).not.toContain(WRONG)

    // Accepted: renders through the cluster; the queue logs where Redis is, with the password masked.
    const clusterEngine = new CountingRenderer()
    const accepted = await startTestNode({ redisUrl: `redis://:${RIGHT}@127.0.0.1:${redis.port}`, prefix: uniquePrefix('secret-ok'), logger: log.logger, renderer: clusterEngine, config: { workersInProcess: true } })
    cleanups.push(() => accepted.close())
    await Promise.all([accepted.queue.cluster.whenStarted(), accepted.queue.worker?.whenReady()])
    expect((await accepted.service.get({ text: 'Accepted password.' })).status).toBe('rendered')
    expect(clusterEngine.runs).toBe(1)
    expect(log.text).toContain(`redis://:***@127.0.0.1:${redis.port}`)

    for (const cleanup of cleanups.splice(1).reverse()) await cleanup()
    expect(log.text).not.toContain(WRONG)
    expect(log.text).not.toContain(RIGHT)
  })

  it('describes Sentinel and Cluster targets without their passwords', () => {
    const sentinel = describeRedisTarget({ kind: 'sentinel', sentinels: [{ host: '10.0.0.1', port: 26379 }], name: 'm', sentinelPassword: WRONG, password: RIGHT })
    const cluster = describeRedisTarget({ kind: 'cluster', nodes: [{ host: '::1', port: 7000 }], username: 'tts', password: RIGHT })
    expect(sentinel).toBe('sentinel m via 10.0.0.1:26379')
    expect(cluster).toBe('cluster via [::1]:7000')
  })
})
