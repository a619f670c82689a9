/**
 * ioredis clients for the cluster path, configured as BullMQ's production guide asks:
 * producers fail fast (no offline queue, few retries) so a caller never hangs on a dead Redis;
 * blocking consumers (Worker, QueueEvents) retry forever (`maxRetriesPerRequest: null`);
 * every client reconnects on its own (retryStrategy) and has an `error` listener, so a lost
 * Redis is logged, never an unhandled 'error' event.
 */
import { Redis } from 'ioredis'
import type { Logger } from '../core/ports.js'

/** Connection defaults, each with its unit. */
export const REDIS_DEFAULTS = Object.freeze({
  /** First reconnect delay; doubles per attempt up to the max. */
  reconnectMinDelayMs: 250,
  /** Longest pause between reconnect attempts: how late recovery can notice a returned Redis. */
  reconnectMaxDelayMs: 5000,
  /** A TCP connect that takes longer counts as failed (and is retried). */
  connectTimeoutMs: 5000,
  /** TCP keep-alive probe delay: finds half-open sockets to a vanished host. */
  keepAliveMs: 10_000,
  /** Producer commands retried this often across reconnects before they reject. */
  producerMaxRetriesPerRequest: 1,
} as const)

/**
 * What a client is used for. `producer`: Queue and audio reads on a serving node (fail fast).
 * `blocking`: Worker and QueueEvents (wait through outages). `publisher`: a worker's audio writes
 * (ride out a short blip, then fail the job so its waiters fall back).
 */
export type RedisRole = 'producer' | 'blocking' | 'publisher'

/** Exponential backoff with a little jitter, capped: ioredis calls it with the attempt number. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(REDIS_DEFAULTS.reconnectMinDelayMs * 2 ** Math.max(0, attempt - 1), REDIS_DEFAULTS.reconnectMaxDelayMs)
  return Math.round(base + random() * 100)
}

/** The ioredis options we set (a closed shape: ioredis' own RedisOptions type fights exactOptionalPropertyTypes). */
export interface ClientOptions {
  readonly connectionName: string
  readonly retryStrategy: (times: number) => number
  readonly connectTimeout: number
  readonly keepAlive: number
  readonly lazyConnect: boolean
  readonly enableOfflineQueue: boolean
  readonly maxRetriesPerRequest: number | null
}

export function redisOptionsFor(role: RedisRole, connectionName: string): ClientOptions {
  const common = {
    connectionName,
    retryStrategy: (times: number) => reconnectDelayMs(times),
    connectTimeout: REDIS_DEFAULTS.connectTimeoutMs,
    keepAlive: REDIS_DEFAULTS.keepAliveMs,
    lazyConnect: false,
  }
  switch (role) {
    case 'producer':
      return { ...common, enableOfflineQueue: false, maxRetriesPerRequest: REDIS_DEFAULTS.producerMaxRetriesPerRequest }
    case 'blocking':
      return { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null }
    case 'publisher':
      return { ...common, enableOfflineQueue: true, maxRetriesPerRequest: 2 }
  }
}

/**
 * A connected-on-construction ioredis client whose state changes are logged once per outage
 * (not once per reconnect attempt). `url` may carry a password: it is never logged.
 */
export function createRedisClient(url: string, role: RedisRole, name: string, logger: Logger): Redis {
  const client = new Redis(url, redisOptionsFor(role, name))
  const log = logger.child({ redis: name, target: redactRedisUrl(url) })
  let down = false
  client.on('ready', () => {
    if (down) log.info({}, 'redis connection restored')
    else log.debug({}, 'redis connected')
    down = false
  })
  client.on('error', (err: unknown) => {
    if (down) log.debug({ err }, 'redis still unreachable')
    else log.warn({ err }, 'redis connection error')
    down = true
  })
  client.on('close', () => {
    if (!down && client.status !== 'end') log.warn({}, 'redis connection lost; reconnecting')
    down = true
  })
  return client
}

/** True while the client can run commands now. */
export function isClientReady(client: Redis): boolean {
  return client.status === 'ready'
}

/** Closes a client we own; never throws (it may already be closed or never connected). */
export async function quitRedisClient(client: Redis, logger: Logger): Promise<void> {
  if (client.status === 'end') return
  if (client.status !== 'ready') {
    client.disconnect()
    return
  }
  try {
    await client.quit()
  } catch (err) {
    logger.debug({ err }, 'redis quit failed; disconnecting')
    client.disconnect()
  }
}

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'])

/**
 * True for errors that only say "Redis is not reachable right now" (already logged once per
 * outage by the client): callers log them at debug, anything else louder.
 */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as NodeJS.ErrnoException).code
  if (code !== undefined && CONNECTION_ERROR_CODES.has(code)) return true
  return /Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|connect ETIMEDOUT|Reached the max retries/i.test(err.message)
}

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0` (for logs and readiness). */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'redis://(unparseable url)'
  }
}
