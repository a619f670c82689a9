import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeEventSocket } from '../fakes/freeswitch/event-socket.js'
import { runCli } from '../harness/cli/run-cli.js'
import { freePort, spawnRedisServer, type SpawnedRedis } from '../harness/redis/server.js'

/**
 * Issue 20: `doctor` hid the sox and other-engine lines when the default engine was missing, and
 * checked neither the ports nor the FreeSWITCH inbound ESL login. Each check is now one line,
 * ok / warn / FAIL; exit 1 only on a FAIL.
 */
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tts-doctor-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A PATH directory with sox and flite but no espeak-ng. */
async function pathWithoutEspeak(root: string): Promise<string> {
  const bin = join(root, 'bin')
  await mkdir(bin)
  for (const tool of ['sox', 'flite']) {
    const found = (process.env['PATH'] ?? '').split(':').map((d) => join(d, tool)).find((p) => existsSync(p))
    if (found === undefined) throw new Error(`${tool} is not installed (the test needs it)`)
    await symlink(found, join(bin, tool))
  }
  return bin
}

function lineOf(stdout: string, name: string): string {
  return stdout.split('\n').find((l) => new RegExp(`^(ok|warn|FAIL)\\s+${name.replace(/[()]/g, '\\$&')}\\s`).test(l)) ?? `(no line for ${name})`
}

async function basePorts(): Promise<Record<string, string>> {
  return { TTS_HTTP_PORT: String(await freePort()), TTS_ESL_PORT: String(await freePort()) }
}

describe('tts-cache doctor', () => {
  it('with espeak-ng missing: FAIL on the default engine, and still every other line (sox, flite, each engine, dir, ports)', async () => {
    const dir = await tempDir()
    const r = await runCli(['doctor'], { PATH: await pathWithoutEspeak(dir), TTS_CACHE_DIR: join(dir, 'cache'), ...(await basePorts()) })
    expect(r.code, r.stdout).toBe(1)
    expect(lineOf(r.stdout, 'engine espeak-ng (default)')).toMatch(/^FAIL .*not found.*serve starts degraded/)
    expect(lineOf(r.stdout, 'sox')).toMatch(/^ok\s+sox\s+v?\d/)
    expect(lineOf(r.stdout, 'engine flite')).toMatch(/^ok /)
    expect(lineOf(r.stdout, 'cache dir')).toMatch(/^ok .*writable/)
    expect(lineOf(r.stdout, 'http port')).toMatch(/^ok .*is free/)
    expect(lineOf(r.stdout, 'esl port')).toMatch(/^ok .*is free/)
    // Every engine the catalog knows has its line (found or not), none hidden.
    const json = JSON.parse((await runCli(['doctor', '--json'], { PATH: await pathWithoutEspeak(await tempDir()), TTS_CACHE_DIR: join(dir, 'cache'), ...(await basePorts()) })).stdout) as {
      ok: boolean
      checks: { name: string; level: string; ok: boolean }[]
      engines: { engines: { id: string }[] }
    }
    expect(json.ok).toBe(false)
    const names = json.checks.map((c) => c.name)
    for (const e of json.engines.engines) expect(names.some((n) => n.startsWith(`engine ${e.id}`)), e.id).toBe(true)
    expect(json.checks.every((c) => ['ok', 'warn', 'fail'].includes(c.level) && c.ok === (c.level !== 'fail'))).toBe(true)
  })

  it('warns about a port in use, naming the setting; exit 0 when nothing fails', async () => {
    const dir = await tempDir()
    const busy: Server = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => busy.close(() => resolve())))
    const port = (busy.address() as { port: number }).port
    const r = await runCli(['doctor'], { TTS_CACHE_DIR: join(dir, 'cache'), TTS_HTTP_PORT: String(port), TTS_ESL_PORT: String(await freePort()) })
    expect(lineOf(r.stdout, 'http port')).toMatch(new RegExp(`^warn .*127\\.0\\.0\\.1:${port} in use.*TTS_HTTP_PORT`))
    expect(r.stdout).not.toMatch(/^FAIL/m)
    expect(r.code, r.stdout).toBe(0)
  })

  it('checks Redis when configured: ok with a real redis-server, FAIL naming REDIS_URL when nothing answers', async () => {
    const dir = await tempDir()
    const redis: SpawnedRedis = await spawnRedisServer()
    cleanups.push(() => redis.stop())
    const up = await runCli(['doctor'], { TTS_CACHE_DIR: join(dir, 'cache'), REDIS_URL: redis.url, ...(await basePorts()) })
    expect(lineOf(up.stdout, 'redis')).toMatch(/^ok .*reachable \(PONG\)/)
    const down = await runCli(['doctor'], { TTS_CACHE_DIR: join(dir, 'cache'), REDIS_URL: `redis://127.0.0.1:${await freePort()}`, ...(await basePorts()) })
    expect(lineOf(down.stdout, 'redis')).toMatch(/^FAIL .*unreachable.*REDIS_URL/)
    expect(down.code).toBe(1)
  })

  // docs/scale-out.md's Sentinel and Cluster examples, pasted, showed `(REDIS_URL)` on a FAIL
  // line whose Redis was set by REDIS_SENTINELS or REDIS_CLUSTER_NODES: the line names the setting in use.
  it('a FAIL on a Sentinel or Cluster topology names REDIS_SENTINELS / REDIS_CLUSTER_NODES, not REDIS_URL', async () => {
    const dir = await tempDir()
    const nobody = `127.0.0.1:${await freePort()}`
    const base = { TTS_CACHE_DIR: join(dir, 'cache'), ...(await basePorts()) }
    const sentinel = await runCli(['doctor'], { ...base, REDIS_SENTINELS: nobody, REDIS_SENTINEL_NAME: 'tts' })
    expect(lineOf(sentinel.stdout, 'redis')).toMatch(/^FAIL .*unreachable.*\(REDIS_SENTINELS \/ REDIS_SENTINEL_NAME\)$/)
    const cluster = await runCli(['doctor'], { ...base, REDIS_CLUSTER_NODES: nobody })
    expect(lineOf(cluster.stdout, 'redis')).toMatch(/^FAIL .*unreachable.*\(REDIS_CLUSTER_NODES\)$/)
    for (const run of [sentinel, cluster]) {
      expect(lineOf(run.stdout, 'redis')).not.toContain('REDIS_URL')
      expect(run.code).toBe(1)
    }
  })

  it('logs in to FreeSWITCH inbound ESL when FS_ESL_HOST is set: ok, a wrong password, nothing listening', async () => {
    const dir = await tempDir()
    const fs = new FakeEventSocket({ password: 'right' })
    await fs.start()
    cleanups.push(() => fs.stop())
    const env = { TTS_CACHE_DIR: join(dir, 'cache'), FS_ESL_HOST: '127.0.0.1', FS_ESL_PORT: String(fs.port), ...(await basePorts()) }
    const ok = await runCli(['doctor'], { ...env, FS_ESL_PASSWORD: 'right' })
    expect(lineOf(ok.stdout, 'freeswitch inbound esl')).toMatch(/^ok .*logged in/)
    expect(fs.commands).toContain('auth right')
    const refused = await runCli(['doctor'], { ...env, FS_ESL_PASSWORD: 'wrong' })
    expect(lineOf(refused.stdout, 'freeswitch inbound esl')).toMatch(/^FAIL .*login refused.*FS_ESL_PASSWORD/)
    expect(refused.code).toBe(1)
    const none = await runCli(['doctor'], { ...env, FS_ESL_PORT: String(await freePort()), FS_ESL_PASSWORD: 'right' })
    expect(lineOf(none.stdout, 'freeswitch inbound esl')).toMatch(/^FAIL .*ECONNREFUSED.*FS_ESL_HOST\/FS_ESL_PORT/)
    // Without FS_ESL_HOST there is no such line.
    expect((await runCli(['doctor'], { TTS_CACHE_DIR: join(dir, 'cache'), ...(await basePorts()) })).stdout).not.toContain('freeswitch')
  })
})
