/**
 * ioredis clients for the cluster path, configured as BullMQ's production guide asks:
 * producers fail fast (no offline queue, few retries, a command timeout) so a caller never hangs
 * on a dead or frozen Redis; blocking consumers (Worker, QueueEvents) retry forever
 * (`maxRetriesPerRequest: null`, which BullMQ requires) and get no command timeout (it would cut
 * their blocking BZPOPMIN / XREAD short; BullMQ bounds those reads with its own watchdog); every
 * client reconnects on its own (retryStrategy) and has an `error` listener, so a lost Redis is
 * logged, never an unhandled 'error' event. One function per topology: a single server, a
 * Sentinel-managed master, a Redis Cluster.
 */
import { Cluster, Redis } from 'ioredis'
import { DEFAULTS } from '../core/defaults.js'
import type { Logger } from '../core/ports/index.js'
import { redisErrorForLog } from './redis-errors.js'
import { describeRedisTarget, redisSettingOf, type RedisCredentials, type RedisTarget } from './redis-target.js'

/** A client of any topology (BullMQ takes both). */
export type RedisClient = Redis | Cluster

/** Connection defaults, each with its unit. */
export const REDIS_DEFAULTS = Object.freeze({
  /** First reconnect delay; doubles per attempt up to the max. */
  reconnectMinDelayMs: 250,
  /** Longest pause between reconnect attempts: how late recovery can notice a returned Redis. */
  reconnectMaxDelayMs: 5000,
  /** TCP keep-alive probe delay: finds half-open sockets to a vanished host. */
  keepAliveMs: 10_000,
  /** Producer commands retried this often across reconnects before they reject. */
  producerMaxRetriesPerRequest: 1,
  /** A worker's audio writes: ride out a blip, then fail the job so its waiters fall back. */
  publisherMaxRetriesPerRequest: 2,
} as const)

/** The two time bounds operators set (config redisCommandTimeoutMs, redisConnectTimeoutMs). */
export interface RedisTimeouts {
  readonly commandTimeoutMs: number
  readonly connectTimeoutMs: number
}

export const DEFAULT_REDIS_TIMEOUTS: RedisTimeouts = Object.freeze({
  commandTimeoutMs: DEFAULTS.redisCommandTimeoutMs,
  connectTimeoutMs: DEFAULTS.redisConnectTimeoutMs,
})

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

/** The per-connection ioredis options we set (a closed shape: ioredis' own types fight exactOptionalPropertyTypes). */
export interface ClientOptions {
  readonly connectionName: string
  readonly connectTimeout: number
  readonly keepAlive: number
  readonly lazyConnect: boolean
  readonly enableOfflineQueue: boolean
  readonly maxRetriesPerRequest: number | null
  /** Absent for blocking clients (see the file comment). */
  readonly commandTimeout?: number
}

export function redisOptionsFor(role: RedisRole, connectionName: string, timeouts: RedisTimeouts = DEFAULT_REDIS_TIMEOUTS): ClientOptions {
  const common = { connectionName, connectTimeout: timeouts.connectTimeoutMs, keepAlive: REDIS_DEFAULTS.keepAliveMs, lazyConnect: false }
  switch (role) {
    case 'producer':
      return { ...common, enableOfflineQueue: false, maxRetriesPerRequest: REDIS_DEFAULTS.producerMaxRetriesPerRequest, commandTimeout: timeouts.commandTimeoutMs }
    case 'blocking':
      return { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null }
    case 'publisher':
      return { ...common, enableOfflineQueue: true, maxRetriesPerRequest: REDIS_DEFAULTS.publisherMaxRetriesPerRequest, commandTimeout: timeouts.commandTimeoutMs }
  }
}

/**
 * After a Sentinel failover the old master may still accept the connection as a replica:
 * writes then fail with READONLY. Reconnect (the Sentinel names the new master) and resend.
 */
function reconnectOnReadOnly(err: Error): boolean | 2 {
  return err.message.startsWith('READONLY') ? 2 : false
}

function credentialsOf(target: RedisCredentials): { username?: string; password?: string } {
  return {
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
  }
}

/** A client for `target` in `role`; `lazyConnect` for templates BullMQ duplicates and never connects itself. */
export function newRedisClient(target: RedisTarget, role: RedisRole, connectionName: string, timeouts: RedisTimeouts = DEFAULT_REDIS_TIMEOUTS, lazyConnect = false): RedisClient {
  const options = { ...redisOptionsFor(role, connectionName, timeouts), lazyConnect }
  const retryStrategy = (times: number): number => reconnectDelayMs(times)
  switch (target.kind) {
    case 'single':
      return new Redis(target.url, { ...options, retryStrategy })
    case 'sentinel':
      return new Redis({
        ...options,
        ...credentialsOf(target),
        retryStrategy,
        sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: target.name,
        role: 'master',
        // Subscribe to the Sentinels' +switch-master: a failover is followed at once, not on the next error.
        failoverDetector: true,
        sentinelRetryStrategy: retryStrategy,
        sentinelCommandTimeout: timeouts.commandTimeoutMs,
        reconnectOnError: reconnectOnReadOnly,
        ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
      })
    case 'cluster': {
      const { enableOfflineQueue, lazyConnect: lazy, ...perNode } = options
      return new Cluster(
        target.nodes.map((n) => ({ host: n.host, port: n.port })),
        {
          enableOfflineQueue,
          lazyConnect: lazy,
          clusterRetryStrategy: retryStrategy,
          slotsRefreshTimeout: timeouts.connectTimeoutMs,
          redisOptions: { ...perNode, ...credentialsOf(target), reconnectOnError: reconnectOnReadOnly },
        },
      )
    }
  }
}

/**
 * A connected-on-construction client whose state changes are logged once per outage (not once
 * per reconnect attempt). No password reaches the log: the target is described without it and
 * errors are logged without the command arguments ioredis attaches (an AUTH carries one).
 */
export function createRedisClient(target: RedisTarget, role: RedisRole, name: string, logger: Logger, timeouts: RedisTimeouts = DEFAULT_REDIS_TIMEOUTS): RedisClient {
  const client = newRedisClient(target, role, name, timeouts)
  const log = logger.child({ redis: name, target: describeRedisTarget(target), setting: redisSettingOf(target, name.endsWith('audio')) })
  let down = false
  client.on('ready', () => {
    if (down) log.info({}, 'redis connection restored')
    else log.debug({}, 'redis connected')
    down = false
  })
  client.on('error', (err: unknown) => {
    if (down) log.debug({ err: redisErrorForLog(err) }, 'redis still unreachable')
    else log.warn({ err: redisErrorForLog(err) }, 'redis connection error')
    down = true
  })
  client.on('close', () => {
    if (!down && client.status !== 'end') log.warn({}, 'redis connection lost; reconnecting')
    down = true
  })
  if (client instanceof Cluster) {
    client.on('node error', (err: unknown, node: unknown) => log.debug({ err: redisErrorForLog(err), node }, 'redis cluster node error'))
  }
  return client
}

/** True while the client can run commands now. */
export function isClientReady(client: RedisClient): boolean {
  return client.status === 'ready'
}

/**
 * Closes a client we own; never throws and never hangs (it may already be closed, never
 * connected, or talking to a frozen Redis: QUIT then gets no reply, and after `timeoutMs` the
 * socket is dropped).
 */
export async function quitRedisClient(client: RedisClient, logger: Logger, timeoutMs = 2000): Promise<void> {
  if (client.status === 'end') return
  if (client.status !== 'ready') {
    client.disconnect()
    return
  }
  let timer: NodeJS.Timeout | undefined
  try {
    const quit = client.quit()
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs)
      timer.unref()
    })
    if ((await Promise.race([quit, late])) === 'late') {
      quit.catch(() => undefined)
      logger.debug({ timeoutMs }, 'redis quit got no reply; disconnecting')
      client.disconnect()
    }
  } catch (err) {
    logger.debug({ err: redisErrorForLog(err) }, 'redis quit failed; disconnecting')
    client.disconnect()
  } finally {
    clearTimeout(timer)
  }
}

export { isCommandTimeout, isConnectionError, redisErrorForLog } from './redis-errors.js'
export { redactRedisUrl } from './redis-target.js'
