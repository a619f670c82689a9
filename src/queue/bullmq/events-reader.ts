/**
 * Start-up of a node's event stream reader: once Redis answers, fix the stream position, then
 * run one QueueEvents whose outcomes JobFinishWaiters dispatches by job id. Retries (with a
 * pause, not a busy loop) until it runs or the node shuts down.
 */
import { QueueEvents, type Queue } from 'bullmq'
import { TtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import { JobFinishWaiters } from './finish-waiters.js'
import { RENDER_QUEUE_NAME } from './job-codec.js'
import { isClientReady, REDIS_DEFAULTS, type RedisClient } from '../../redis/redis-connections.js'
import { redisErrorForLog } from '../../redis/redis-errors.js'

export interface EventsReaderOptions {
  /** The node's producer client: the reader starts once it is ready. */
  readonly producer: RedisClient
  /** A never-connected client BullMQ duplicates for the blocking XREAD. */
  readonly eventsTemplate: RedisClient
  readonly queue: Queue
  readonly prefix: string
  readonly logger: Logger
  /** Aborts start-up (node shutting down). */
  readonly shutdown: AbortSignal
  /** True once the node is closing: a stopped reader is then expected, not an error. */
  readonly closing: () => boolean
}

export interface EventsReader {
  readonly events: QueueEvents
  readonly waiters: JobFinishWaiters
}

export async function startEventsReader(options: EventsReaderOptions): Promise<EventsReader> {
  const { producer, logger: log, shutdown } = options
  for (let attempt = 1; ; attempt++) {
    await untilReady(producer, shutdown)
    try {
      // Read the stream from "now" on, fixed before any job is added: `$` would be resolved
      // only at the first XREAD, and an event in between would be lost.
      const last = await producer.xrevrange(options.queue.toKey('events'), '+', '-', 'COUNT', 1)
      const lastEventId = last[0]?.[0] ?? '0-0'
      const events = new QueueEvents(RENDER_QUEUE_NAME, { connection: options.eventsTemplate, prefix: options.prefix, autorun: false, lastEventId })
      events.on('error', (err: unknown) => log.debug({ err: redisErrorForLog(err) }, 'queue events error'))
      const waiters = new JobFinishWaiters(events)
      events.run().catch((err: unknown) => {
        if (!options.closing()) log.error({ err: redisErrorForLog(err) }, 'queue events reader stopped')
      })
      await events.waitUntilReady()
      log.debug({ lastEventId }, 'queue events reader started')
      return { events, waiters }
    } catch (err) {
      if (shutdown.aborted) throw new TtsError('TTS_ERR_SHUTTING_DOWN', { cause: err })
      log.warn({ err: redisErrorForLog(err), attempt }, 'could not start the queue events reader; retrying')
      await pause(REDIS_DEFAULTS.reconnectMaxDelayMs, shutdown)
    }
  }
}

function untilReady(client: RedisClient, shutdown: AbortSignal): Promise<void> {
  if (isClientReady(client)) return Promise.resolve()
  if (shutdown.aborted) return Promise.reject(new TtsError('TTS_ERR_SHUTTING_DOWN'))
  return new Promise<void>((resolve, reject) => {
    const onReady = (): void => {
      shutdown.removeEventListener('abort', onAbort)
      resolve()
    }
    const onAbort = (): void => {
      client.off('ready', onReady)
      reject(new TtsError('TTS_ERR_SHUTTING_DOWN'))
    }
    client.once('ready', onReady)
    shutdown.addEventListener('abort', onAbort, { once: true })
  })
}

function pause(ms: number, shutdown: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      shutdown.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    timer.unref()
    shutdown.addEventListener('abort', done, { once: true })
  })
}
