/**
 * The opening stage of the BullMQ render queue: its Redis connections (queue, audio, the events
 * template), the BullMQ Queue, the shared audio tier and the responsiveness probe.
 */
import { Queue } from 'bullmq'
import { TtsError } from '../../core/errors.js'
import type { Logger, SharedAudio } from '../../core/ports/index.js'
import { createRedisClient, DEFAULT_REDIS_TIMEOUTS, newRedisClient, type RedisClient } from '../../redis/redis-connections.js'
import { redisErrorForLog } from '../../redis/redis-errors.js'
import { RedisHealth } from '../../redis/redis-health.js'
import { queuePrefixFor, singleRedis, type RedisTarget } from '../../redis/redis-target.js'
import { RENDER_QUEUE_NAME } from './job-codec.js'
import type { BullMqRenderQueueOptions } from './queue-options.js'
import { resolveSharedAudio } from './shared-audio-source.js'

export interface QueueConnections {
  readonly target: RedisTarget
  /** The audio Redis when it is not the queue Redis. */
  readonly audioTarget: RedisTarget | undefined
  readonly queuePrefix: string
  readonly producer: RedisClient
  /** The producer itself when the audio lives on the queue Redis. */
  readonly audioClient: RedisClient
  /** QueueEvents blocks on XREAD: BullMQ duplicates this template (it never connects itself). */
  readonly eventsTemplate: RedisClient
  readonly shared: SharedAudio
  readonly queue: Queue
  readonly health: RedisHealth
}

export function openQueueConnections(options: BullMqRenderQueueOptions, log: Logger): QueueConnections {
  const timeouts = options.timeouts ?? DEFAULT_REDIS_TIMEOUTS
  const target = resolveTarget(options.redis, options.redisUrl)
  const audioTarget = options.audioRedis ?? (options.audioRedisUrl === undefined ? undefined : singleRedis(options.audioRedisUrl))
  const queuePrefix = queuePrefixFor(target, options.prefix)
  const producer = createRedisClient(target, 'producer', 'queue', log, timeouts)
  const audioClient = audioTarget === undefined || sameTarget(audioTarget, target) ? producer : createRedisClient(audioTarget, 'producer', 'audio', log, timeouts)
  const eventsTemplate = newRedisClient(target, 'blocking', 'events', timeouts, true)
  const shared = resolveSharedAudio(options.sharedAudio, { client: audioClient, logger: log })
  const queue = new Queue(RENDER_QUEUE_NAME, {
    connection: producer,
    prefix: queuePrefix,
    defaultJobOptions: {
      // Finished jobs leave at once: an id never stays poisoned by a failure, and a later
      // request for the key finds the published audio (or renders again if it was evicted).
      removeOnComplete: true,
      removeOnFail: true,
      attempts: 1,
    },
  })
  queue.on('error', (err: unknown) => log.debug({ err: redisErrorForLog(err) }, 'queue client error'))
  // A frozen Redis keeps its sockets open: probes tell. On a Redis Cluster the probe reads a key
  // in the queue's hash slot (a PING would go to any node).
  const probeKey = queue.toKey('meta')
  const health = new RedisHealth({
    clients: [producer, audioClient],
    probe: (client) => (target.kind === 'cluster' && client === producer ? client.exists(probeKey) : client.ping()),
    timeoutMs: timeouts.commandTimeoutMs,
    intervalMs: Math.max(50, Math.round(timeouts.commandTimeoutMs / 2)),
    logger: log,
  })
  return { target, audioTarget, queuePrefix, producer, audioClient, eventsTemplate, shared, queue, health }
}

function resolveTarget(target: RedisTarget | undefined, url: string | undefined): RedisTarget {
  if (target !== undefined) return target
  if (url !== undefined) return singleRedis(url)
  throw new TtsError('TTS_ERR_CONFIG', { args: ['the cluster render queue needs a Redis (redis or redisUrl)'] })
}

function sameTarget(a: RedisTarget, b: RedisTarget): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
