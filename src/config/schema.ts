import { z } from 'zod'
import { DEFAULTS, SAMPLE_RATES } from '../core/defaults.js'
import { ENGINE_IDS } from '../engines/adapters/index.js'
import { engineBinaryEnvNames, engineBinaryFields } from './engine-binaries.js'
import { eslAllowListProblem } from '../esl/index.js'
import { accelPrefix, bool, byteSize, commandTemplate, hostPortList, int, optionalString, port, publicBaseUrl, redisUrl } from './value-schemas.js'

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
    eslAllow: z
      .string()
      .default(DEFAULTS.eslAllow)
      .superRefine((value, ctx) => {
        const problem = eslAllowListProblem(value)
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
      }),
    fsEslHost: optionalString,
    fsEslPort: port.default(DEFAULTS.fsEslPort),
    fsEslPassword: z.string().default(DEFAULTS.fsEslPassword),
    fsEslHeartbeatTimeoutMs: int(1000, 3_600_000).default(60_000),
    httpEnabled: bool.default(true),
    httpHost: z.string().min(1).default(DEFAULTS.httpHost),
    httpPort: port.default(DEFAULTS.httpPort),
    httpDeadlineMs: int(50, 600_000).default(DEFAULTS.httpDeadlineMs),
    acceptSockets: int(1, 1024).default(DEFAULTS.acceptSockets),
    apiToken: optionalString,
    authAllRoutes: bool.default(false),
    publicUrl: publicBaseUrl.optional(),
    prewarmMaxItems: int(1, 1_000_000).default(DEFAULTS.prewarmMaxItems),
    bodyLimitBytes: byteSize.default(DEFAULTS.bodyLimitBytes),
    httpHotBytes: z.union([z.literal(0), byteSize]).default(DEFAULTS.httpHotBytes),
    httpAccelRedirect: accelPrefix.optional(),
    httpAccelLookupSeconds: int(0, 3600).default(DEFAULTS.httpAccelLookupSeconds),
    redisUrl: redisUrl.optional(),
    redisSentinels: hostPortList.optional(),
    redisSentinelName: optionalString,
    redisSentinelPassword: optionalString,
    redisClusterNodes: hostPortList.optional(),
    redisUsername: optionalString,
    redisPassword: optionalString,
    redisCommandTimeoutMs: int(50, 60_000).default(DEFAULTS.redisCommandTimeoutMs),
    redisConnectTimeoutMs: int(100, 60_000).default(DEFAULTS.redisConnectTimeoutMs),
    audioRedisUrl: redisUrl.optional(),
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
  TTS_ESL_ALLOW: 'eslAllow',
  FS_ESL_HOST: 'fsEslHost',
  FS_ESL_PORT: 'fsEslPort',
  FS_ESL_PASSWORD: 'fsEslPassword',
  FS_ESL_HEARTBEAT_TIMEOUT_MS: 'fsEslHeartbeatTimeoutMs',
  TTS_HTTP_ENABLED: 'httpEnabled',
  TTS_HTTP_HOST: 'httpHost',
  TTS_HTTP_PORT: 'httpPort',
  TTS_HTTP_DEADLINE_MS: 'httpDeadlineMs',
  TTS_ACCEPT_SOCKETS: 'acceptSockets',
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
