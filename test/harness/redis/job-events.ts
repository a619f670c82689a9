/**
 * Watches a render queue's event stream from the test: resolves once a job id was added (or
 * joined: BullMQ reports a duplicate add) a given number of times. Lets a test release a held
 * render only after every node has asked for the job, without sleeping.
 */
import { QueueEvents } from 'bullmq'
import { RENDER_QUEUE_NAME } from '../../../src/queue/bullmq/job-codec.js'
import { newRedisClient } from '../../../src/redis/redis-connections.js'
import { queuePrefixFor, singleRedis, type RedisTarget } from '../../../src/redis/redis-target.js'

export interface JobAddWatcher {
  /** Resolves once `jobId` was added or joined `times` times since the watcher started. */
  added(jobId: string, times: number): Promise<void>
  close(): Promise<void>
}

/** `redis`: a single server's URL, or any topology (the queue prefix is hash-tagged on a Cluster, as the service does). */
export async function watchJobAdds(redis: string | RedisTarget, prefix: string): Promise<JobAddWatcher> {
  const target = typeof redis === 'string' ? singleRedis(redis) : redis
  const queuePrefix = queuePrefixFor(target, prefix)
  const probe = newRedisClient(target, 'producer', 'test-watch', undefined, true)
  await probe.connect()
  // Start reading at the stream's current end, fixed now (a `$` would be resolved later).
  const last = await probe.xrevrange(`${queuePrefix}:${RENDER_QUEUE_NAME}:events`, '+', '-', 'COUNT', 1)
  await probe.quit()
  const events = new QueueEvents(RENDER_QUEUE_NAME, {
    connection: newRedisClient(target, 'blocking', 'test-watch-events', undefined, true),
    prefix: queuePrefix,
    lastEventId: last[0]?.[0] ?? '0-0',
  })
  const counts = new Map<string, number>()
  const waiters: { jobId: string; times: number; resolve: () => void }[] = []
  const bump = (jobId: string): void => {
    counts.set(jobId, (counts.get(jobId) ?? 0) + 1)
    for (const waiter of waiters.filter((w) => w.jobId === jobId && (counts.get(jobId) ?? 0) >= w.times)) {
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve()
    }
  }
  events.on('added', ({ jobId }) => bump(jobId))
  events.on('duplicated', ({ jobId }) => bump(jobId))
  await events.waitUntilReady()
  return {
    added(jobId, times) {
      if ((counts.get(jobId) ?? 0) >= times) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ jobId, times, resolve }))
    },
    close: () => events.close(),
  }
}
