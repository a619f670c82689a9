import { execFileSync, spawn } from 'node:child_process'
import { chmod, chown, mkdir } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../harness/app/test-app.js'
import { runCli, type CliUser } from '../harness/cli/run-cli.js'

let dir: string
let cleanup: () => Promise<void>
let env: Record<string, string>

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('tts-cli-start-'))
  env = { TTS_CACHE_DIR: join(dir, 'cache'), TTS_LOG_LEVEL: 'error' }
})
afterEach(async () => cleanup())

/** root cannot be refused a write: as root the command runs as nobody instead. */
const NOBODY: CliUser | undefined = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined

/** A directory the command's user cannot write (root-owned 0755 for nobody; 0555 otherwise). */
async function unwritableDir(): Promise<string> {
  await chmod(dir, 0o755)
  const target = join(dir, 'readonly')
  await mkdir(target)
  await chmod(target, NOBODY === undefined ? 0o555 : 0o755)
  return target
}

type Outcome = { readonly listening: true } | { readonly listening: false; readonly code: number | null; readonly stderr: string }

/** The built `serve`: resolves when it exits, or (then stopped) once its HTTP API listens. */
function serveOutcome(extraEnv: Record<string, string>, user?: CliUser): Promise<Outcome> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: dir, TTS_HTTP_HOST: '127.0.0.1', TTS_HTTP_PORT: '0', TTS_ESL_HOST: '127.0.0.1', TTS_ESL_PORT: '0', TTS_LOG_LEVEL: 'info', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
  })
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      if (stdout.includes('"msg":"HTTP API listening"')) {
        child.once('exit', () => resolve({ listening: true }))
        child.kill('SIGTERM')
      }
    })
    child.once('exit', (code) => resolve({ listening: false, code, stderr }))
  })
}

async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { server, port: address.port }
}

describe('start-up errors name the setting to change', () => {
  it('refuses an unwritable cache directory in the CLI and in serve, naming TTS_CACHE_DIR / --cache-dir', async () => {
    const readonly = await unwritableDir()
    const stats = await runCli(['stats'], { ...env, TTS_CACHE_DIR: readonly }, undefined, NOBODY)
    expect(stats.code).toBe(1)
    expect(stats.stderr).toContain(`TTS_ERR_CACHE_DIR: cache directory ${readonly} is not writable`)
    expect(stats.stderr).toContain('set TTS_CACHE_DIR or --cache-dir')
    const serve = await serveOutcome({ TTS_CACHE_DIR: readonly }, NOBODY)
    expect(serve).toMatchObject({ listening: false, code: 1 })
    if (!serve.listening) expect(serve.stderr).toContain('TTS_ERR_CACHE_DIR')
  })

  it('uses one default cache directory for every command: ~/.cache/tts-cache for a user who cannot write /var/lib/tts-cache', async () => {
    const home = join(dir, 'home')
    await mkdir(home)
    await chmod(dir, 0o755)
    if (NOBODY !== undefined) await chown(home, NOBODY.uid, NOBODY.gid)
    const r = await runCli(['stats', '--json'], { HOME: home, TTS_LOG_LEVEL: 'error' }, undefined, NOBODY)
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ cacheDir: join(home, '.cache', 'tts-cache') })
    const xdg = await runCli(['stats', '--json'], { HOME: home, XDG_CACHE_HOME: join(home, 'xdg'), TTS_LOG_LEVEL: 'error' }, undefined, NOBODY)
    expect(JSON.parse(xdg.stdout)).toMatchObject({ cacheDir: join(home, 'xdg', 'tts-cache') })
  })

  it.each([
    ['HTTP', 'TTS_HTTP_PORT'],
    ['ESL', 'TTS_ESL_PORT'],
  ])('names %s\'s port setting when the port is in use', async (_front, variable) => {
    const { server, port } = await holdPort()
    try {
      const outcome = await serveOutcome({ TTS_CACHE_DIR: join(dir, 'cache'), [variable]: String(port) })
      expect(outcome).toMatchObject({ listening: false, code: 1 })
      if (outcome.listening) return
      expect(outcome.stderr).toContain(`TTS_ERR_LISTEN: the ${_front === 'HTTP' ? 'HTTP API' : 'ESL hook'} cannot listen on 127.0.0.1:${port}: the address is already in use`)
      expect(outcome.stderr).toContain(`set ${variable}`)
    } finally {
      server.close()
    }
  })

  it('refuses a port a running serve holds with its SO_REUSEPORT group, and that serve keeps all its sockets and answers', async () => {
    const first = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, TTS_CACHE_DIR: join(dir, 'cache'), TTS_HTTP_HOST: '127.0.0.1', TTS_HTTP_PORT: '0', TTS_ESL_HOST: '127.0.0.1', TTS_ESL_PORT: '0', TTS_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      const listening = await new Promise<{ port: number; acceptSockets: number }>((resolve, reject) => {
        let stdout = ''
        first.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d
          const line = stdout.split('\n').find((l) => l.includes('"msg":"HTTP API listening"'))
          if (line !== undefined) resolve(JSON.parse(line) as { port: number; acceptSockets: number })
        })
        first.once('exit', (code) => reject(new Error(`the first serve exited ${code}`)))
      })
      expect(listening.acceptSockets).toBe(64)
      const listeners = (): number => execFileSync('ss', ['-ltnH', `( sport = :${listening.port} )`], { encoding: 'utf8' }).split('\n').filter((l) => l.trim() !== '').length
      expect(listeners()).toBe(64)

      const outcome = await serveOutcome({ TTS_CACHE_DIR: join(dir, 'second-cache'), TTS_HTTP_PORT: String(listening.port) })
      expect(outcome).toMatchObject({ listening: false, code: 1 })
      if (outcome.listening) return
      expect(outcome.stderr).toContain(`TTS_ERR_LISTEN: the HTTP API cannot listen on 127.0.0.1:${listening.port}: the address is already in use`)
      expect(listeners()).toBe(64)
      const health = await fetch(`http://127.0.0.1:${listening.port}/healthz`)
      expect(health.status).toBe(200)
    } finally {
      const exited = new Promise((resolve) => first.once('exit', resolve))
      first.kill('SIGTERM')
      await exited
    }
  })

  it('warns about an unknown TTS_* variable with the closest name, also in doctor', async () => {
    const typo = { ...env, TTS_CACHE_DRI: '/tmp/elsewhere' }
    const stats = await runCli(['stats', '--json'], typo)
    expect(stats.code, stats.stderr).toBe(0)
    expect(stats.stderr).toContain('TTS_CACHE_DRI is not a setting (did you mean TTS_CACHE_DIR?)')
    const doctor = await runCli(['doctor', '--json'], typo)
    expect(doctor.code).toBe(1)
    const report = JSON.parse(doctor.stdout) as { checks: { name: string; level: string; ok: boolean; detail: string }[] }
    expect(report.checks).toContainEqual({ name: 'environment', level: 'fail', ok: false, detail: 'TTS_CACHE_DRI is not a setting (did you mean TTS_CACHE_DIR?)' })
  })

  it('says a bad value with the variable, the value, the range and the unit (no raw zod text)', async () => {
    const r = await runCli(['stats'], { ...env, TTS_RENDER_TIMEOUT_MS: '50', TTS_ESL_PORT: '70000', TTS_AUTH_ALL_ROUTES: 'flase' })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('TTS_RENDER_TIMEOUT_MS=50: must be a whole number from 100 to 600000 milliseconds')
    expect(r.stderr).toContain('TTS_ESL_PORT=70000: must be a TCP port from 0 to 65535')
    expect(r.stderr).toContain('TTS_AUTH_ALL_ROUTES=flase: must be true or false')
    expect(r.stderr).not.toMatch(/Too small|Too big|Invalid input/)
  })
})
