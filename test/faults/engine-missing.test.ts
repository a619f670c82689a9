import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runCall } from '../fakes/freeswitch/call.js'
import { ROOT } from '../harness/app/test-app.js'
import { runCli } from '../harness/cli/run-cli.js'
import { eventually } from '../harness/http/test-apps.js'

/**
 * Issue 20: the default engine (espeak-ng) missing — uninstalled, or a PATH without it — used to
 * stop `serve` at once, so nothing already cached was served. Now serve starts, /readyz answers
 * 200 `degraded` (a load balancer keeps sending hits), hits are served over HTTP and ESL, and
 * misses fail at once: HTTP 503 TTS_ERR_ENGINE_UNAVAILABLE, ESL `tts_cache_status=error` (the
 * caller hears the fallback). The PATH is a directory of symlinks to what serve needs but espeak-ng.
 */
const children: ChildProcess[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  return typeof address === 'object' && address !== null ? address.port : 0
}

/** A PATH directory with sox (and flite when installed) but no espeak-ng. */
async function pathWithoutEspeak(root: string): Promise<string> {
  const bin = join(root, 'bin')
  await mkdir(bin)
  for (const tool of ['sox', 'flite']) {
    const where = (process.env['PATH'] ?? '').split(':').map((d) => join(d, tool))
    const { existsSync } = await import('node:fs')
    const found = where.find((p) => existsSync(p))
    if (found !== undefined) await symlink(found, join(bin, tool))
  }
  return bin
}

describe('serve without the default engine', () => {
  it('starts, says degraded on /readyz (200), serves hits over HTTP and ESL, fails misses at once', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tts-engine-missing-'))
    dirs.push(root)
    const cacheDir = join(root, 'cache')
    // Cached while espeak-ng was there (any command that finds the engine remembers its version).
    const first = await runCli(['get', 'Hello from the cache', '--json'], { TTS_CACHE_DIR: cacheDir })
    expect(first.code, first.stderr).toBe(0)
    const cachedKey = JSON.parse(first.stdout).key as string

    const [httpPort, eslPort] = [await freePort(), await freePort()]
    const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve'], {
      env: {
        PATH: await pathWithoutEspeak(root),
        HOME: root,
        TTS_CACHE_DIR: cacheDir,
        TTS_HTTP_PORT: String(httpPort),
        TTS_ESL_PORT: String(eslPort),
        TTS_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let log = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (log += d))
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d))
    const base = `http://127.0.0.1:${httpPort}`
    const ready = await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${log}`)
      const res = await fetch(`${base}/readyz`).catch(() => undefined)
      return res === undefined ? undefined : { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, { state: string; detail: string }> } }
    })
    expect(ready.status).toBe(200)
    expect(ready.body.status).toBe('degraded')
    expect(ready.body.checks['engine']).toMatchObject({ state: 'degraded', detail: expect.stringContaining('espeak-ng not found: cached phrases') })
    expect(log).toContain('starting without the default engine: cached phrases are served')

    const hit = await fetch(`${base}/v1/tts?text=${encodeURIComponent('Hello from the cache')}`)
    expect(hit.status).toBe(200)
    expect(hit.headers.get('x-tts-cache')).toBe('hit')
    expect(hit.headers.get('etag')).toContain(cachedKey)
    const miss = await fetch(`${base}/v1/tts?text=${encodeURIComponent('Never said before')}`)
    expect(miss.status).toBe(503)
    expect(await miss.json()).toMatchObject({ code: 'TTS_ERR_ENGINE_UNAVAILABLE', message: expect.stringContaining('espeak-ng') })

    const eslHit = await runCall({ port: eslPort, variables: [['tts_cache_text', 'Hello from the cache']] })
    expect(eslHit.variables.get('tts_cache_status')).toBe('hit')
    expect(eslHit.variables.get('tts_cache_key')).toBe(cachedKey)
    expect(eslHit.played).toMatch(new RegExp(`${cachedKey}\\.wav$`))
    const eslMiss = await runCall({ port: eslPort, variables: [['tts_cache_text', 'Another new sentence']] })
    expect(eslMiss.variables.get('tts_cache_status')).toBe('error')
    expect(eslMiss.variables.get('tts_cache_key')).toMatch(/^[0-9a-f]{64}$/)
    expect(eslMiss.played).toBe('')
    expect(log).toMatch(/"code":"TTS_ERR_ENGINE_UNAVAILABLE"/)

    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/tts_errors_total\{[^}]*code="TTS_ERR_ENGINE_UNAVAILABLE"[^}]*\} [1-9]/)
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  })
})
