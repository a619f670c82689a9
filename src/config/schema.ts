import { z } from 'zod'
import { DEFAULTS, SAMPLE_RATES } from '../core/defaults.js'
import { ENGINE_IDS } from '../engines/adapters/index.js'
import { engineBinaryEnvNames, engineBinaryFields } from './engine-binaries.js'

/** Strict booleans: only true/false/1/0/yes/no (so "false" is false, and "flase" is an error). */
const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes'),
])

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max)

const port = int(0, 65535)

/** Byte sizes: an integer, or a number with a unit (KiB, MiB, GiB, KB, MB, GB; case-insensitive). */
const byteSize = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\s*$/i.exec(value)
  if (m === null) {
    ctx.addIssue({ code: 'custom', message: `not a byte size: ${JSON.stringify(value)} (e.g. 1073741824 or 1GiB)` })
    return z.NEVER
  }
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 }
  return Math.floor(Number(m[1]) * (units[(m[2] ?? 'b').toLowerCase()] ?? 1))
})

/** TTS_COMMAND: a JSON array of argv strings, the first being the program. */
const commandTemplate = z
  .union([z.array(z.string()), z.string()])
  .transform((value, ctx) => {
    if (Array.isArray(value)) return value
    try {
      const parsed: unknown = JSON.parse(value)
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[]
    } catch {
      // fall through to the issue below: the message names what was expected
    }
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of strings, e.g. ["/opt/bin/my-tts","--out","{out}"]' })
    return z.NEVER
  })
  .pipe(
    z
      .array(z.string().min(1).refine((s) => !/[\r\n\0]/.test(s), 'argv elements may not contain CR, LF or NUL'))
      .min(1, 'needs at least the program')
      .refine((argv) => argv.some((a) => a.includes('{out}')), 'must contain the {out} placeholder'),
  )

const optionalString = z.string().min(1).optional()

/**
 * TTS_PUBLIC_URL: the base of every URL the API hands out (`url` fields), so an absolute http(s)
 * URL and nothing a client should not see or follow: no user, password, query or fragment.
 */
const publicBaseUrl = z.url({ protocol: /^https?$/ }).refine((value) => {
  const url = URL.parse(value)
  return url !== null && url.username === '' && url.password === '' && url.search === '' && url.hash === ''
}, 'must be an http(s) base URL without user, password, query or fragment, e.g. https://tts.example.com/')

/** TTS_HTTP_ACCEL_REDIRECT: the front's internal location for the cache directory (deploy/nginx/). */
const accelPrefix = z.string().regex(/^\/(?:[A-Za-z0-9_-]+\/)+$/, 'must be a URI path of letters, digits, _ and - segments starting and ending with /, e.g. /_tts_cache/')

/**
 * Redis Sentinel / Cluster nodes: `host:port` items, comma-separated in the environment
 * (`10.0.0.1:26379,10.0.0.2:26379`; IPv6 as `[::1]:26379`), or a JSON array of such strings.
 */
const hostPortList = z
  .union([z.array(z.string()), z.string()])
  .transform((value, ctx) => {
    const items = (Array.isArray(value) ? value : value.split(',')).map((item) => item.trim()).filter((item) => item !== '')
    const nodes: { host: string; port: number }[] = []
    for (const item of items) {
      const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(item)
      const port = Number(m?.[3])
      const host = m?.[1] ?? m?.[2]
      if (host === undefined || !(port >= 1 && port <= 65535)) {
        ctx.addIssue({ code: 'custom', message: `not host:port: ${JSON.stringify(item)} (e.g. 10.0.0.1:26379 or [::1]:26379)` })
        return z.NEVER
      }
      nodes.push({ host, port })
    }
    if (nodes.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs at least one host:port' })
      return z.NEVER
    }
    return nodes
  })

/** The whole configuration. Keys are what a config file uses; ENV_NAMES maps environment variables to them. */
export const configSchema = z
  .object({
    cacheDir: z.string().min(1).default(DEFAULTS.cacheDir),
    maxCacheBytes: byteSize.default(DEFAULTS.maxCacheBytes),
    maxAgeMs: int(0, Number.MAX_SAFE_INTEGER).default(DEFAULTS.maxAgeMs),
    minFreeBytes: z.union([z.literal(0), byteSize]).default(DEFAULTS.minFreeBytes),
    cacheShared: bool.default(false),
    engine: z.enum(ENGINE_IDS).default(DEFAULTS.engine),
    voice: z.string().default(DEFAULTS.voice),
    sampleRate: z.coerce
      .number()
      .refine((n) => (SAMPLE_RATES as readonly number[]).includes(n), { message: `must be one of ${SAMPLE_RATES.join(', ')}` })
      .default(DEFAULTS.sampleRate),
    command: commandTemplate.optional(),
    ...engineBinaryFields,
    soxBin: z.string().min(1).default('sox'),
    maxTextChars: int(1, 100_000).default(DEFAULTS.maxTextChars),
    renderConcurrency: int(0, 1024).default(DEFAULTS.renderConcurrency),
    queueLimit: int(0, 1_000_000).default(DEFAULTS.queueLimit),
    renderTimeoutMs: int(100, 600_000).default(DEFAULTS.renderTimeoutMs),
    eslEnabled: bool.default(true),
    eslHost: z.string().min(1).default(DEFAULTS.eslHost),
    eslPort: port.default(DEFAULTS.eslPort),
    eslDeadlineMs: int(50, 60_000).default(DEFAULTS.eslDeadlineMs),
    eslMaxDeadlineMs: int(50, 120_000).default(DEFAULTS.eslMaxDeadlineMs),
    eslCallLog: z.enum(['info', 'debug', 'off']).default(DEFAULTS.eslCallLog),
    fsEslHost: optionalString,
    fsEslPort: port.default(DEFAULTS.fsEslPort),
    fsEslPassword: z.string().default(DEFAULTS.fsEslPassword),
    fsEslHeartbeatTimeoutMs: int(1000, 3_600_000).default(60_000),
    httpEnabled: bool.default(true),
    httpHost: z.string().min(1).default(DEFAULTS.httpHost),
    httpPort: port.default(DEFAULTS.httpPort),
    httpDeadlineMs: int(50, 600_000).default(DEFAULTS.httpDeadlineMs),
    apiToken: optionalString,
    authAllRoutes: bool.default(false),
    publicUrl: publicBaseUrl.optional(),
    prewarmMaxItems: int(1, 1_000_000).default(DEFAULTS.prewarmMaxItems),
    bodyLimitBytes: byteSize.default(DEFAULTS.bodyLimitBytes),
    httpHotBytes: z.union([z.literal(0), byteSize]).default(DEFAULTS.httpHotBytes),
    httpAccelRedirect: accelPrefix.optional(),
    httpAccelLookupSeconds: int(0, 3600).default(DEFAULTS.httpAccelLookupSeconds),
    redisUrl: optionalString,
    redisSentinels: hostPortList.optional(),
    redisSentinelName: optionalString,
    redisSentinelPassword: optionalString,
    redisClusterNodes: hostPortList.optional(),
    redisUsername: optionalString,
    redisPassword: optionalString,
    redisCommandTimeoutMs: int(50, 60_000).default(DEFAULTS.redisCommandTimeoutMs),
    redisConnectTimeoutMs: int(100, 60_000).default(DEFAULTS.redisConnectTimeoutMs),
    audioRedisUrl: optionalString,
    redisPrefix: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('tts-cache'),
    redisFallback: z.enum(['local', 'fail']).default('local'),
    redisFallbackAfterMs: int(0, 60_000).default(1000),
    audioTtlSeconds: int(1, 365 * 86_400).default(7 * 86_400),
    clusterAudio: z.enum(['redis', 'shared-dir']).default('redis'),
    workersInProcess: bool.default(true),
    workerConcurrency: int(0, 1024).default(0),
    shutdownGraceMs: int(0, 600_000).default(DEFAULTS.shutdownGraceMs),
    watchdogMs: int(0, 60_000)
      .refine((ms) => ms === 0 || ms >= 100, 'must be 0 (off) or at least 100 ms')
      .default(DEFAULTS.watchdogMs),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(DEFAULTS.logLevel),
  })
  .strict()
  .superRefine((c, ctx) => {
    const topologies = [c.redisUrl === undefined ? [] : ['REDIS_URL'], c.redisSentinels === undefined ? [] : ['REDIS_SENTINELS'], c.redisClusterNodes === undefined ? [] : ['REDIS_CLUSTER_NODES']].flat()
    if (topologies.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['redisUrl'], message: `set one Redis topology, not ${topologies.join(' and ')}` })
    }
    if (c.redisSentinels !== undefined && c.redisSentinelName === undefined) {
      ctx.addIssue({ code: 'custom', path: ['redisSentinelName'], message: 'REDIS_SENTINELS needs REDIS_SENTINEL_NAME (the master group name)' })
    }
    if (c.redisSentinels === undefined && (c.redisSentinelName !== undefined || c.redisSentinelPassword !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['redisSentinels'], message: 'REDIS_SENTINEL_NAME / REDIS_SENTINEL_PASSWORD need REDIS_SENTINELS' })
    }
    if (c.redisUrl !== undefined && (c.redisPassword !== undefined || c.redisUsername !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['redisPassword'], message: 'with REDIS_URL, put the user and password in the URL (redis://user:password@host:6379)' })
    }
    if (c.engine === 'command' && c.command === undefined) {
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'TTS_ENGINE=command needs TTS_COMMAND' })
    }
    if (c.eslEnabled && c.httpEnabled && c.eslPort !== 0 && c.eslPort === c.httpPort && c.eslHost === c.httpHost) {
      ctx.addIssue({ code: 'custom', path: ['httpPort'], message: 'HTTP and ESL listeners cannot share a port' })
    }
  })

export type Config = Readonly<z.output<typeof configSchema>>

/** Environment variable → config key. The only names operators need to know (docs/configuration.md). */
export const ENV_NAMES = Object.freeze({
  TTS_CACHE_DIR: 'cacheDir',
  TTS_CACHE_MAX_BYTES: 'maxCacheBytes',
  TTS_CACHE_MAX_AGE_MS: 'maxAgeMs',
  TTS_MIN_FREE_BYTES: 'minFreeBytes',
  TTS_CACHE_SHARED: 'cacheShared',
  TTS_ENGINE: 'engine',
  TTS_VOICE: 'voice',
  TTS_SAMPLE_RATE: 'sampleRate',
  TTS_COMMAND: 'command',
  ...engineBinaryEnvNames,
  TTS_SOX_BIN: 'soxBin',
  TTS_MAX_TEXT_CHARS: 'maxTextChars',
  TTS_RENDER_CONCURRENCY: 'renderConcurrency',
  TTS_QUEUE_LIMIT: 'queueLimit',
  TTS_RENDER_TIMEOUT_MS: 'renderTimeoutMs',
  TTS_ESL_ENABLED: 'eslEnabled',
  TTS_ESL_HOST: 'eslHost',
  TTS_ESL_PORT: 'eslPort',
  TTS_ESL_DEADLINE_MS: 'eslDeadlineMs',
  TTS_ESL_MAX_DEADLINE_MS: 'eslMaxDeadlineMs',
  TTS_ESL_CALL_LOG: 'eslCallLog',
  FS_ESL_HOST: 'fsEslHost',
  FS_ESL_PORT: 'fsEslPort',
  FS_ESL_PASSWORD: 'fsEslPassword',
  FS_ESL_HEARTBEAT_TIMEOUT_MS: 'fsEslHeartbeatTimeoutMs',
  TTS_HTTP_ENABLED: 'httpEnabled',
  TTS_HTTP_HOST: 'httpHost',
  TTS_HTTP_PORT: 'httpPort',
  TTS_HTTP_DEADLINE_MS: 'httpDeadlineMs',
  TTS_API_TOKEN: 'apiToken',
  TTS_AUTH_ALL_ROUTES: 'authAllRoutes',
  TTS_PUBLIC_URL: 'publicUrl',
  TTS_PREWARM_MAX_ITEMS: 'prewarmMaxItems',
  TTS_BODY_LIMIT_BYTES: 'bodyLimitBytes',
  TTS_HTTP_HOT_BYTES: 'httpHotBytes',
  TTS_HTTP_ACCEL_REDIRECT: 'httpAccelRedirect',
  TTS_HTTP_ACCEL_LOOKUP_SECONDS: 'httpAccelLookupSeconds',
  REDIS_URL: 'redisUrl',
  REDIS_SENTINELS: 'redisSentinels',
  REDIS_SENTINEL_NAME: 'redisSentinelName',
  REDIS_SENTINEL_PASSWORD: 'redisSentinelPassword',
  REDIS_CLUSTER_NODES: 'redisClusterNodes',
  REDIS_USERNAME: 'redisUsername',
  REDIS_PASSWORD: 'redisPassword',
  TTS_REDIS_COMMAND_TIMEOUT_MS: 'redisCommandTimeoutMs',
  TTS_REDIS_CONNECT_TIMEOUT_MS: 'redisConnectTimeoutMs',
  TTS_AUDIO_REDIS_URL: 'audioRedisUrl',
  TTS_REDIS_PREFIX: 'redisPrefix',
  TTS_REDIS_FALLBACK: 'redisFallback',
  TTS_REDIS_FALLBACK_AFTER_MS: 'redisFallbackAfterMs',
  TTS_AUDIO_TTL_SECONDS: 'audioTtlSeconds',
  TTS_CLUSTER_AUDIO: 'clusterAudio',
  TTS_WORKERS_IN_PROCESS: 'workersInProcess',
  TTS_WORKER_CONCURRENCY: 'workerConcurrency',
  TTS_SHUTDOWN_GRACE_MS: 'shutdownGraceMs',
  TTS_WATCHDOG_MS: 'watchdogMs',
  TTS_LOG_LEVEL: 'logLevel',
} as const satisfies Record<string, keyof z.input<typeof configSchema>>)

/** Keys whose values are secrets: never logged, redacted in `doctor` and error output. */
export const SECRET_KEYS = Object.freeze(['apiToken', 'fsEslPassword', 'redisPassword', 'redisSentinelPassword'] as const)
