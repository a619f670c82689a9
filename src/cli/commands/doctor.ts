import { redisTargetFrom } from '../../app/cluster-settings.js'
import { detectEngines } from '../../app/engine-options.js'
import { unknownEnvWarnings } from '../../config/env-check.js'
import { loadConfig } from '../../config/load-config.js'
import { describeRedisTarget, redisSettingOf, type RedisTarget } from '../../redis/redis-target.js'
import { SECRET_KEYS, type Config } from '../../config/schema.js'
import { toTtsError } from '../../core/errors.js'
import type { CatalogDescription } from '../../engines/catalog.js'
import { createLogger } from '../../logger.js'
import { flagOverrides, parseCommandArgs } from '../args.js'
import { cacheDirCheck, engineChecks, freeswitchCheck, portChecks, type Check } from '../doctor-checks.js'
import { describeError, EXIT, json, out } from '../output.js'

/**
 * `tts-cache doctor`: is this machine ready to serve? Every check on its own line, `ok`, `warn`
 * or `fail` (doctor-checks.ts): config, each engine, sox, cache dir, HTTP/ESL ports, Redis and the
 * FreeSWITCH inbound ESL login when configured. Exit 1 when any check fails.
 */
export async function doctorCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } })
  const checks: Check[] = []
  let config: Config | undefined
  try {
    config = loadConfig({ env, file: values.config, overrides: flagOverrides(values) })
    checks.push({ name: 'config', level: 'ok', detail: 'valid' })
  } catch (error) {
    checks.push({ name: 'config', level: 'fail', detail: describeError(error) })
  }
  // A misspelt variable is a setting that silently does not apply.
  for (const warning of unknownEnvWarnings(env)) checks.push({ name: 'environment', level: 'fail', detail: warning })
  let engines: CatalogDescription | undefined
  if (config !== undefined) {
    engines = await describeEngines(config, checks)
    checks.push(await cacheDirCheck(config.cacheDir))
    checks.push(...(await portChecks(config)))
    const redis = redisTargetFrom(config)
    if (redis !== undefined) checks.push(await checkRedis(redis, config.redisConnectTimeoutMs))
    if (config.fsEslHost !== undefined) checks.push(await freeswitchCheck(config.fsEslHost, config.fsEslPort, config.fsEslPassword))
  }
  const ok = checks.every((c) => c.level !== 'fail')
  if (values.json === true) {
    json({ ok, checks: checks.map((c) => ({ ...c, ok: c.level !== 'fail' })), engines, config: config === undefined ? undefined : redacted(config) })
  } else {
    for (const c of checks) out(`${(c.level === 'fail' ? 'FAIL' : c.level).padEnd(4)}  ${c.name.padEnd(28)} ${c.detail}`)
    const warned = checks.filter((c) => c.level === 'warn').length
    out(ok ? `\nno check failed${warned > 0 ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}` : '\nsome checks failed')
  }
  return ok ? EXIT.ok : EXIT.failed
}

/** Every engine and sox, probed now, each on its own line (a missing default engine hides nothing). */
async function describeEngines(config: Config, checks: Check[]): Promise<CatalogDescription | undefined> {
  const logger = createLogger({ level: 'silent', destination: 2 })
  try {
    const description = (await detectEngines(config, logger, true)).describe()
    checks.push(...engineChecks(description))
    return description
  } catch (error) {
    checks.push({ name: `engine ${config.engine} (default)`, level: 'fail', detail: toTtsError(error).message })
    return undefined
  }
}

function redacted(config: Config): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...config }
  for (const key of SECRET_KEYS) if (copy[key] !== undefined) copy[key] = '[redacted]'
  for (const key of ['redisUrl', 'audioRedisUrl'] as const) {
    const url = copy[key]
    if (typeof url === 'string') copy[key] = url.replace(/\/\/[^@/]*@/, '//[redacted]@')
  }
  return copy
}

async function checkRedis(target: RedisTarget, connectTimeoutMs: number): Promise<Check> {
  const { Cluster, Redis } = await import('ioredis')
  const base = { lazyConnect: true, connectTimeout: connectTimeoutMs, commandTimeout: connectTimeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null }
  const credentials = { ...(target.kind !== 'single' && target.username !== undefined ? { username: target.username } : {}), ...(target.kind !== 'single' && target.password !== undefined ? { password: target.password } : {}) }
  const client =
    target.kind === 'single'
      ? new Redis(target.url, base)
      : target.kind === 'sentinel'
        ? new Redis({ ...base, ...credentials, sentinels: [...target.sentinels], name: target.name, sentinelRetryStrategy: () => null, ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }) })
        : new Cluster([...target.nodes], { lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: () => null, redisOptions: { ...base, ...credentials } })
  client.on('error', () => undefined) // the failure is reported below, from connect()
  const where = describeRedisTarget(target)
  try {
    await client.connect()
    const pong = await client.ping()
    return { name: 'redis', level: pong === 'PONG' ? 'ok' : 'fail', detail: `${where} reachable (${pong})` }
  } catch (error) {
    return { name: 'redis', level: 'fail', detail: `${where} unreachable: ${(error as Error).message} (${redisSettingOf(target, false)})` }
  } finally {
    client.disconnect()
  }
}
