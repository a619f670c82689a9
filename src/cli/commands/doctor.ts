import { randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { redisTargetFrom } from '../../app/cluster-settings.js'
import { detectEngines } from '../../app/engine-options.js'
import { unknownEnvWarnings } from '../../config/env-check.js'
import { loadConfig } from '../../config/load-config.js'
import { describeRedisTarget, type RedisTarget } from '../../redis/redis-target.js'
import { SECRET_KEYS, type Config } from '../../config/schema.js'
import { toTtsError } from '../../core/errors.js'
import type { CatalogDescription } from '../../engines/catalog.js'
import { createLogger } from '../../logger.js'
import { flagOverrides, parseCommandArgs } from '../args.js'
import { describeError, EXIT, json, out } from '../output.js'

interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

/**
 * `tts-cache doctor`: is this machine ready to serve? Config valid, default engine found (and
 * which others), sox, cache dir writable, Redis reachable when configured. Exit 1 on any problem.
 */
export async function doctorCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } })
  const checks: Check[] = []
  let config: Config | undefined
  try {
    config = loadConfig({ env, file: values.config, overrides: flagOverrides(values) })
    checks.push({ name: 'config', ok: true, detail: 'valid' })
  } catch (error) {
    checks.push({ name: 'config', ok: false, detail: describeError(error) })
  }
  // A misspelt variable is a setting that silently does not apply.
  for (const warning of unknownEnvWarnings(env)) checks.push({ name: 'environment', ok: false, detail: warning })
  let engines: CatalogDescription | undefined
  if (config !== undefined) {
    const logger = createLogger({ level: 'silent', destination: 2 })
    try {
      const catalog = await detectEngines(config, logger)
      engines = catalog.describe()
      for (const e of engines.engines) {
        if (e.found || e.isDefault) {
          checks.push({ name: `engine ${e.id}${e.isDefault ? ' (default)' : ''}`, ok: e.found, detail: e.found ? `${e.version ?? '?'} at ${e.path ?? e.binary}${e.voices === undefined ? '' : `, ${e.voices} voices`}` : (e.error ?? 'not found') })
        }
      }
      const missing = engines.engines.filter((e) => !e.found && !e.isDefault).map((e) => e.id)
      if (missing.length > 0) checks.push({ name: 'other engines', ok: true, detail: `not installed (disabled): ${missing.join(', ')}` })
      checks.push({ name: 'sox', ok: engines.sox.found, detail: engines.sox.found ? `${engines.sox.version ?? '?'} at ${engines.sox.path ?? engines.sox.binary}` : (engines.sox.error ?? 'not found') })
    } catch (error) {
      checks.push({ name: `engine ${config.engine} (default)`, ok: false, detail: toTtsError(error).message })
    }
    checks.push(await checkCacheDir(config.cacheDir))
    const redis = redisTargetFrom(config)
    if (redis !== undefined) checks.push(await checkRedis(redis, config.redisConnectTimeoutMs))
  }
  const ok = checks.every((c) => c.ok)
  if (values.json === true) {
    json({ ok, checks, config: config === undefined ? undefined : redacted(config) })
  } else {
    for (const c of checks) out(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(26)} ${c.detail}`)
    out(ok ? '\nall checks passed' : '\nsome checks failed')
  }
  return ok ? EXIT.ok : EXIT.failed
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

async function checkCacheDir(dir: string): Promise<Check> {
  const probe = join(dir, `.doctor-${randomBytes(6).toString('hex')}`)
  try {
    await mkdir(dir, { recursive: true })
    await writeFile(probe, 'ok')
    await rm(probe)
    return { name: 'cache dir', ok: true, detail: `${dir} is writable` }
  } catch (error) {
    return { name: 'cache dir', ok: false, detail: `${dir}: ${(error as Error).message}` }
  }
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
    return { name: 'redis', ok: pong === 'PONG', detail: `${where} reachable (${pong})` }
  } catch (error) {
    return { name: 'redis', ok: false, detail: `${where} unreachable: ${(error as Error).message}` }
  } finally {
    client.disconnect()
  }
}
