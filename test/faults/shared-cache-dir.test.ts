/**
 * Fault: two `serve` processes on one cache directory (issue 17, item 8). Each kept its own index;
 * after one evicted (deleted) a file, the other still answered `hit` with the deleted path over ESL.
 * Now: a hit stats its file (stale-cache.test.ts), so the deleted path is never handed out; and a
 * second service on a directory in use refuses to start unless both say it is shared
 * (TTS_CACHE_SHARED=true, named in the error). Real `tts-cache serve` processes (the built CLI) and
 * real apps (buildApp with listeners, as serve builds it) on one directory.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isTtsError } from '../../src/core/errors.js'
import { processStartTicks, thisProcessIdentity } from '../../src/store/disk/process-identity.js'
import { SERVICES_DIR } from '../../src/store/disk/service-registry.js'
import { ROOT, startTestApp, tempDir, type TestApp } from '../harness/app/test-app.js'
import { startHook, type RealApp } from '../harness/esl/hook.js'
import { EslRenderGate } from '../fakes/esl/render-gate.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function sharedDir(): Promise<string> {
  const { dir, cleanup } = await tempDir('tts-shared-')
  cleanups.push(cleanup)
  return join(dir, 'cache')
}

/** An app built as `serve` builds it (listeners: it registers in the directory). */
async function serveApp(cacheDir: string, env: Record<string, string> = {}): Promise<TestApp> {
  const t = await startTestApp({ TTS_CACHE_DIR: cacheDir, ...env }, { listeners: true })
  cleanups.push(() => t.app.close(5000))
  t.app.store.startScan()
  return t
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isTtsError(err, 'TTS_ERR_CONFIG'), String(err)).toBe(true)
  return err as Error
}

describe('fault: two services on one cache directory (buildApp as serve builds it)', () => {
  it('the second refuses to start, naming TTS_CACHE_SHARED; it starts once the first has closed', async () => {
    const cacheDir = await sharedDir()
    const first = await serveApp(cacheDir)
    const err = await refusal(startTestApp({ TTS_CACHE_DIR: cacheDir }, { listeners: true }))
    expect(err.message).toContain('TTS_CACHE_SHARED=true')
    expect(err.message).toContain(`pid ${process.pid}`)
    // Only the first's registration is left.
    expect(await readdir(join(cacheDir, SERVICES_DIR))).toHaveLength(1)
    // Shared on one side only is still refused.
    await refusal(startTestApp({ TTS_CACHE_DIR: cacheDir, TTS_CACHE_SHARED: 'true' }, { listeners: true }))
    // One-shot commands (no listeners: get, prewarm, purge) run beside it as before.
    const oneShot = await startTestApp({ TTS_CACHE_DIR: cacheDir })
    await oneShot.app.close(0)

    await first.app.close(5000)
    expect(await readdir(join(cacheDir, SERVICES_DIR))).toEqual([])
    const second = await serveApp(cacheDir)
    expect(second.app.store.peers).toEqual([])
  })

  it('with TTS_CACHE_SHARED=true on both, both start and know of each other', async () => {
    const cacheDir = await sharedDir()
    await serveApp(cacheDir, { TTS_CACHE_SHARED: 'true' })
    const second = await serveApp(cacheDir, { TTS_CACHE_SHARED: 'true' })
    expect(second.app.store.peers).toMatchObject([{ pid: process.pid }])
  })

  it('a registration left by a dead process (kill -9) or by an earlier process with a reused pid does not block', async () => {
    const cacheDir = await sharedDir()
    const services = join(cacheDir, SERVICES_DIR)
    await mkdir(services, { recursive: true })
    const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
    await new Promise((resolve) => dead.once('exit', resolve))
    // Written on this machine, in this boot and pid namespace: judged by its pid and start time.
    const { bootId, pidNs } = thisProcessIdentity()
    const record = (token: string, pid: number, pidStart: number | undefined): string =>
      JSON.stringify({ token, pid, hostname: hostname(), startedAt: Date.now() - 60_000, pidStart, bootId, pidNs, shared: false })
    await writeFile(join(services, 'aaaa.json'), record('aaaa', dead.pid ?? 0, undefined))
    // Our own pid, but another start time: the process that wrote it is gone.
    await writeFile(join(services, 'bbbb.json'), record('bbbb', process.pid, (processStartTicks(process.pid) ?? 0) + 1))
    const t = await serveApp(cacheDir)
    expect(t.app.store.peers).toEqual([])
    expect((await readdir(services)).filter((n) => n === 'aaaa.json' || n === 'bbbb.json')).toEqual([])
  })

  it('a peer evicting a file: the other never hands its deleted path to FreeSWITCH (it renders it again)', async () => {
    const cacheDir = await sharedDir()
    // A: a budget of ~100 KB (two of these phrases do not fit); B: the default budget. Both shared.
    const a = await serveApp(cacheDir, { TTS_CACHE_SHARED: 'true', TTS_CACHE_MAX_BYTES: '100000' })
    const b = await serveApp(cacheDir, { TTS_CACHE_SHARED: 'true' })
    // A deadline no render here comes near, even on a loaded machine: the statuses are the point.
    const hook = await startHook({ defaultDeadlineMs: 60_000, maxDeadlineMs: 60_000 }, cleanups, { app: realAppOf(b) })
    const text = 'Press one for sales'
    const call = (): ReturnType<typeof hook.call> => hook.call({ variables: [['tts_cache_text', text]] })
    expect((await call()).variables.get('tts_cache_status')).toBe('rendered')
    expect((await call()).variables.get('tts_cache_status')).toBe('hit')
    // A finds B's file (a hit on disk), then renders more than its budget holds: it evicts it.
    expect((await a.app.service.get({ text })).status).toBe('hit')
    await a.app.service.get({ text: 'Your call is important to us, please stay on the line while we find an agent for you' })
    await a.app.service.get({ text: 'Our opening hours are eight in the morning to six in the evening, Monday to Friday' })
    await a.app.store.idle()
    expect(a.app.store.peek(hook.expectedKey(text))).toBeUndefined()
    await expect(stat(hook.expectedPath(text))).rejects.toMatchObject({ code: 'ENOENT' })

    const after = await call()
    expect(after.variables.get('tts_cache_status')).toBe('rendered')
    expect(after.played).toBe(hook.expectedPath(text))
    expect((await stat(hook.expectedPath(text))).size).toBeGreaterThan(44)
    expect(b.app.store.stats().stale).toMatchObject({ missing: 1 })
  })
})

/** The hook harness's view of an app built here. */
function realAppOf(t: TestApp): RealApp {
  const expectedKey = (text: string): string => t.app.service.resolve({ text }).key
  return {
    test: t,
    gate: new EslRenderGate(),
    renders: () => t.renders(),
    expectedKey,
    expectedPath: (text) => t.app.store.pathFor(expectedKey(text)),
    isCached: (text) => Promise.resolve(t.app.store.lookup(expectedKey(text)) !== undefined),
  }
}

/** The built `tts-cache serve` on ports the system picks; resolves once its HTTP API listens, or with its exit. */
function startServe(cacheDir: string, env: Record<string, string> = {}): { child: ChildProcess; listening: Promise<number>; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> } {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/root',
      TTS_CACHE_DIR: cacheDir,
      TTS_HTTP_HOST: '127.0.0.1',
      TTS_HTTP_PORT: '0',
      TTS_ESL_HOST: '127.0.0.1',
      TTS_ESL_PORT: '0',
      TTS_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d))
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, output })),
  )
  const listening = new Promise<number>((resolve, reject) => {
    const check = (): void => {
      const match = /"port":(\d+),[^\n]*"msg":"HTTP API listening"/.exec(output)
      if (match !== null) resolve(Number(match[1]))
    }
    child.stdout?.on('data', check)
    void exited.then(({ code }) => reject(new Error(`serve exited (${code}) before listening:\n${output}`)))
  })
  listening.catch(() => undefined)
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  return { child, listening, exited }
}

describe('fault: two `tts-cache serve` processes on one cache directory (real processes)', () => {
  it('the second exits non-zero naming TTS_CACHE_SHARED; after the first is killed -9, a new one starts', async () => {
    const cacheDir = await sharedDir()
    const first = startServe(cacheDir)
    await first.listening
    const second = startServe(cacheDir)
    const refused = await second.exited
    expect(refused.code).not.toBe(0)
    expect(refused.output).toContain('TTS_ERR_CONFIG')
    expect(refused.output).toContain('TTS_CACHE_SHARED=true')
    expect(refused.output).toContain(`pid ${first.child.pid}`)

    first.child.kill('SIGKILL')
    await first.exited
    const third = startServe(cacheDir)
    const port = await third.listening
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200)
    const names = await readdir(join(cacheDir, SERVICES_DIR))
    expect(names).toHaveLength(1)
    expect(JSON.parse(await readFile(join(cacheDir, SERVICES_DIR, names[0] ?? ''), 'utf8'))).toMatchObject({ pid: third.child.pid })
    third.child.kill('SIGTERM')
    expect((await third.exited).code).toBe(0)
    expect(await readdir(join(cacheDir, SERVICES_DIR))).toEqual([])
  })
})
