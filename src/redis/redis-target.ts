/**
 * Where Redis is: one server (`REDIS_URL`), a master found through Sentinel (`REDIS_SENTINELS` +
 * `REDIS_SENTINEL_NAME`), or a Redis Cluster (`REDIS_CLUSTER_NODES`). The rest of the cluster
 * path never looks at the topology except through `queuePrefixFor` (Redis Cluster needs a hash
 * tag) and `describeRedisTarget` (what logs and readiness show: never a password).
 */

export interface RedisHostPort {
  readonly host: string
  readonly port: number
}

/** Credentials for the data nodes (Sentinel and Cluster; a single server takes them from its URL). */
export interface RedisCredentials {
  readonly username?: string | undefined
  readonly password?: string | undefined
}

export type RedisTarget =
  /** One server; the URL may carry user, password, db and `rediss://` for TLS. */
  | { readonly kind: 'single'; readonly url: string }
  /** The master of `name` as the Sentinels report it; follows failovers. */
  | ({
      readonly kind: 'sentinel'
      readonly sentinels: readonly RedisHostPort[]
      readonly name: string
      readonly sentinelPassword?: string | undefined
    } & RedisCredentials)
  /** A Redis Cluster, discovered from these seed nodes. */
  | ({ readonly kind: 'cluster'; readonly nodes: readonly RedisHostPort[] } & RedisCredentials)

export function singleRedis(url: string): RedisTarget {
  return { kind: 'single', url }
}

/**
 * BullMQ's queue keys must share one hash slot on a Redis Cluster (its Lua scripts touch several
 * keys at once): the prefix is wrapped in a hash tag there, `tts-cache` → `{tts-cache}`. Other
 * topologies keep the plain prefix (the keys of existing deployments do not move).
 */
export function queuePrefixFor(target: RedisTarget, prefix: string): string {
  return target.kind === 'cluster' ? `{${prefix}}` : prefix
}

/** For logs and readiness: hosts and names, never a password. */
export function describeRedisTarget(target: RedisTarget): string {
  switch (target.kind) {
    case 'single':
      return redactRedisUrl(target.url)
    case 'sentinel':
      return `sentinel ${target.name} via ${target.sentinels.map(hostPort).join(',')}`
    case 'cluster':
      return `cluster via ${target.nodes.map(hostPort).join(',')}`
  }
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

function hostPort(node: RedisHostPort): string {
  return node.host.includes(':') ? `[${node.host}]:${node.port}` : `${node.host}:${node.port}`
}

/**
 * The settings that point a client at `target`, named in its connection log lines so an
 * operator knows what to change. `audio`: the audio tier's client, which TTS_AUDIO_REDIS_URL
 * names when set (else it shares REDIS_URL's target).
 */
export function redisSettingOf(target: RedisTarget, audio: boolean): string {
  if (target.kind === 'sentinel') return 'REDIS_SENTINELS / REDIS_SENTINEL_NAME'
  if (target.kind === 'cluster') return 'REDIS_CLUSTER_NODES'
  return audio ? 'TTS_AUDIO_REDIS_URL (REDIS_URL when unset)' : 'REDIS_URL'
}
