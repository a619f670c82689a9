/**
 * Frozen or blocked `serve` (issue #17, item 2): what bounds the silence a caller hears.
 *  - the in-process watchdog thread SIGKILLs a process whose event loop is blocked;
 *  - systemd's watchdog (Type=notify, WatchdogSec): READY=1, WATCHDOG=1 from the event loop,
 *    STOPPING=1; the pings stop when the loop is blocked (checked on a fake NOTIFY_SOCKET, a
 *    real Unix datagram socket this test binds with the same unix-dgram package);
 *  - `serve --supervise`: SIGKILLs and restarts a child that stops beating (SIGSTOP) or exits.
 * The real `serve` (dist/) runs in each case; a blocked loop comes from a test-only preload
 * (test/harness/block-loop-hook.mjs: SIGUSR2 spins the main thread), never from the service.
 * The end-to-end bound on a real FreeSWITCH is in test/freeswitch/real-freeswitch.test.ts.
 * Nothing here asserts a duration: each step waits for an event (a datagram, a log line, an exit).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load-config.js'
import { DEFAULTS } from '../../src/core/defaults.js'
import { openSdNotifier, sdNotifyEnvironment } from '../../src/supervision/sd-notify.js'
import { ROOT } from '../harness/app/test-app.js'

interface DgramSocket {
  bind(path: string): void
  on(event: 'message', listener: (buf: Buffer) => void): void
  close(): void
}
/** Test-only preload: SIGUSR2 blocks the main thread's event loop (never shipped). */
const BLOCK_LOOP_HOOK = join(ROOT, 'test/harness/block-loop-hook.mjs')

const unixDgram = createRequire(import.meta.url)('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket }

/** A fake systemd: binds a datagram socket and records each sd_notify message in order. */
class FakeNotifySocket {
  readonly messages: string[] = []
  readonly #socket = unixDgram.createSocket('unix_dgram')
  #waiters: { match: (m: string, i: number) => boolean; resolve: (i: number) => void }[] = []
  constructor(readonly path: string) {
    this.#socket.on('message', (buf) => {
      const index = this.messages.push(buf.toString('utf8')) - 1
      this.#waiters = this.#waiters.filter((w) => (w.match(this.messages[index]!, index) ? (w.resolve(index), false) : true))
    })
    this.#socket.bind(path)
  }
  /** Resolves with the index of the first message (from `from` on) equal to `text`. */
  next(text: string, from = 0): Promise<number> {
    const seen = this.messages.findIndex((m, i) => i >= from && m === text)
    if (seen >= 0) return Promise.resolve(seen)
    return new Promise((resolve) => this.#waiters.push({ match: (m, i) => i >= from && m === text, resolve }))
  }
  close(): void {
    this.#socket.close()
  }
}

interface Served {
  readonly child: ChildProcess
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  output(): string
  /** Resolves with the first JSON log line (stdout) that `match` accepts. */
  logLine(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
  /** Resolves once stderr holds `text`. */
  stderrHas(text: string): Promise<void>
}

let work: string
const running: ChildProcess[] = []

function serve(env: Record<string, string>, options: { args?: string[]; blockLoopHook?: boolean } = {}): Served {
  const child = spawn(
    process.execPath,
    [...(options.blockLoopHook === true ? ['--import', BLOCK_LOOP_HOOK] : []), join(ROOT, 'dist/cli/main.js'), 'serve', ...(options.args ?? [])],
    {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/root',
        TTS_CACHE_DIR: join(work, 'cache'),
        TTS_ESL_PORT: '0',
        TTS_HTTP_PORT: '0',
        TTS_LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  running.push(child)
  let stdout = ''
  let stderr = ''
  const lines: Record<string, unknown>[] = []
  let waiters: { match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = []
  let stderrWaiters: { text: string; resolve: () => void }[] = []
  let partial = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
    partial += d
    const complete = partial.split('\n')
    partial = complete.pop() ?? ''
    for (const text of complete) {
      let line: Record<string, unknown>
      try {
        line = JSON.parse(text) as Record<string, unknown>
      } catch {
        continue
      }
      lines.push(line)
      waiters = waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true))
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    stderrWaiters = stderrWaiters.filter((w) => (stderr.includes(w.text) ? (w.resolve(), false) : true))
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return {
    child,
    exited,
    output: () => `${stdout}\n${stderr}`,
    logLine: (match) => {
      const seen = lines.find(match)
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }))
    },
    stderrHas: (text) => (stderr.includes(text) ? Promise.resolve() : new Promise((resolve) => stderrWaiters.push({ text, resolve }))),
  }
}

/** How many TCP sockets in LISTEN state `pid` holds (from /proc). */
async function listeningSockets(pid: number): Promise<number> {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (await readFile(table, 'utf8')).split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f[3] === '0A' && f[9] !== undefined) inodes.add(f[9])
    }
  }
  let count = 0
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''))
    if (m !== null && inodes.has(m[1]!)) count++
  }
  return count
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tts-supervision-'))
})

afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    }
  }
})

afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

describe('TTS_WATCHDOG_MS', () => {
  it('defaults to 1500 ms; 0 turns it off; anything between 1 and 99 is refused', () => {
    expect(DEFAULTS.watchdogMs).toBe(1500)
    expect(loadConfig({ env: {} }).watchdogMs).toBe(1500)
    expect(loadConfig({ env: { TTS_WATCHDOG_MS: '0' } }).watchdogMs).toBe(0)
    expect(loadConfig({ env: { TTS_WATCHDOG_MS: '800' } }).watchdogMs).toBe(800)
    expect(() => loadConfig({ env: { TTS_WATCHDOG_MS: '50' } })).toThrow(/TTS_WATCHDOG_MS=50: must be 0 \(off\) or at least 100 ms/)
  })
})

describe('the in-process watchdog', () => {
  it('SIGKILLs serve when its event loop is blocked, after one log line saying so', async () => {
    const fake = new FakeNotifySocket(join(work, 'notify-watchdog.sock'))
    try {
      const served = serve({ NOTIFY_SOCKET: fake.path, TTS_WATCHDOG_MS: '300' }, { blockLoopHook: true })
      await fake.next('READY=1')
      served.child.kill('SIGUSR2')
      await served.stderrHas('blocks its event loop')
      expect(await served.exited).toEqual({ code: null, signal: 'SIGKILL' })
      const line = await served.logLine((l) => l['component'] === 'watchdog')
      expect(line).toMatchObject({ level: 60, watchdogMs: 300, pid: served.child.pid })
      expect(line['msg']).toMatch(/event loop blocked: killing the process \(SIGKILL\)/)
      expect(line['blockedMs']).toBeGreaterThanOrEqual(300)
    } finally {
      fake.close()
    }
  })

  it('leaves a process alone that was stopped as a whole and continued (it cannot tell a frozen VM from a blocked loop, so it waits for the loop)', async () => {
    const fake = new FakeNotifySocket(join(work, 'notify-stop.sock'))
    try {
      const served = serve({ NOTIFY_SOCKET: fake.path, WATCHDOG_USEC: '400000', TTS_WATCHDOG_MS: '300' })
      await fake.next('READY=1')
      process.kill(served.child.pid!, 'SIGSTOP')
      await sleep(1000) // > TTS_WATCHDOG_MS: the thread stood still too
      const before = fake.messages.length
      process.kill(served.child.pid!, 'SIGCONT')
      // The loop beats again: three more pings, and the process is still there.
      await fake.next('WATCHDOG=1', before + 2)
      expect(alive(served.child.pid!)).toBe(true)
      expect(served.child.exitCode).toBeNull()
      served.child.kill('SIGTERM')
      expect((await served.exited).code).toBe(0)
    } finally {
      fake.close()
    }
  })
})

describe('systemd notify (Type=notify, WatchdogSec) against a fake NOTIFY_SOCKET', () => {
  it('sends READY=1 once listening, WATCHDOG=1 from the event loop, and STOPPING=1 on SIGTERM', async () => {
    const fake = new FakeNotifySocket(join(work, 'notify-ready.sock'))
    try {
      const served = serve({ NOTIFY_SOCKET: fake.path, WATCHDOG_USEC: '400000', TTS_WATCHDOG_MS: '0' })
      const ready = await fake.next('READY=1')
      // READY=1 comes after both listeners (ESL hook, HTTP API) are up.
      expect(await listeningSockets(served.child.pid!)).toBeGreaterThanOrEqual(2)
      const first = await fake.next('WATCHDOG=1', ready)
      await fake.next('WATCHDOG=1', first + 1)
      await fake.next('WATCHDOG=1', first + 2)
      served.child.kill('SIGTERM')
      await fake.next('STOPPING=1')
      expect((await served.exited).code).toBe(0)
      expect(fake.messages.filter((m) => m === 'READY=1')).toHaveLength(1)
      expect(new Set(fake.messages)).toEqual(new Set(['READY=1', 'WATCHDOG=1', 'STOPPING=1']))
    } finally {
      fake.close()
    }
  })

  it('stops the WATCHDOG=1 pings while the event loop is blocked (so systemd kills it)', async () => {
    const fake = new FakeNotifySocket(join(work, 'notify-blocked.sock'))
    try {
      // WatchdogSec=0.4 s: a ping every 100 ms while the loop runs. The in-process watchdog is off
      // here so that only systemd's side is seen.
      const served = serve({ NOTIFY_SOCKET: fake.path, WATCHDOG_USEC: '400000', TTS_WATCHDOG_MS: '0' }, { blockLoopHook: true })
      const ready = await fake.next('READY=1')
      await fake.next('WATCHDOG=1', ready + 2)
      served.child.kill('SIGUSR2')
      await served.stderrHas('blocks its event loop')
      const atBlock = fake.messages.length
      await sleep(1500) // fifteen ping intervals
      // At most one ping that was already on its way when the loop blocked.
      expect(fake.messages.length - atBlock).toBeLessThanOrEqual(1)
      expect(served.child.exitCode).toBeNull()
    } finally {
      fake.close()
    }
  })

  it('ignores WATCHDOG_USEC meant for another pid (WATCHDOG_PID), as sd_watchdog_enabled does', () => {
    expect(sdNotifyEnvironment({}, 42)).toBeUndefined()
    expect(sdNotifyEnvironment({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000' }, 42)).toEqual({ socketPath: '/run/x', watchdogMs: 2000 })
    expect(sdNotifyEnvironment({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000', WATCHDOG_PID: '42' }, 42)).toEqual({ socketPath: '/run/x', watchdogMs: 2000 })
    expect(sdNotifyEnvironment({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000', WATCHDOG_PID: '7' }, 42)).toEqual({ socketPath: '/run/x', watchdogMs: undefined })
  })

  it('refuses to start, naming the fix, when NOTIFY_SOCKET is set but unix-dgram cannot load, or is abstract', () => {
    const logger = pino({ level: 'silent' })
    const missing = (): never => {
      throw new Error("Cannot find module 'unix-dgram'")
    }
    expect(() => openSdNotifier({ socketPath: '/run/systemd/notify', watchdogMs: undefined }, logger, missing)).toThrow(/unix-dgram is not built.*npm rebuild unix-dgram/)
    expect(() => openSdNotifier({ socketPath: '@abstract', watchdogMs: undefined }, logger)).toThrow(/abstract socket/)
  })
})

describe('tts-cache serve --supervise', () => {
  it('SIGKILLs and restarts a child that stops beating (SIGSTOP) or dies, and passes SIGTERM on', async () => {
    const served = serve({ TTS_WATCHDOG_MS: '500' }, { args: ['--supervise'] })
    const supervisorLine = (msg: string, notPid?: unknown) => (l: Record<string, unknown>) => l['component'] === 'supervisor' && l['msg'] === msg && l['childPid'] !== notPid
    const first = (await served.logLine(supervisorLine('serve ready')))['childPid'] as number
    expect(first).not.toBe(served.child.pid)
    process.kill(first, 'SIGSTOP')
    const kill = await served.logLine((l) => l['component'] === 'supervisor' && String(l['msg']).startsWith('no heartbeat from serve'))
    expect(kill).toMatchObject({ childPid: first, limitMs: 500, ready: true })
    const second = (await served.logLine(supervisorLine('serve ready', first)))['childPid'] as number
    expect(second).not.toBe(first)
    expect(alive(first)).toBe(false)
    // A child that dies by itself comes back too.
    process.kill(second, 'SIGKILL')
    const third = (await served.logLine((l) => l['component'] === 'supervisor' && l['msg'] === 'serve ready' && l['childPid'] !== first && l['childPid'] !== second))['childPid'] as number
    served.child.kill('SIGTERM')
    expect(await served.exited).toEqual({ code: 0, signal: null })
    expect(alive(third)).toBe(false)
    expect(served.output()).toContain('"msg":"stopped"')
    // One "pid" per line (pino's own, the supervisor's): the child's is "childPid", never a duplicate key.
    const supervisorLines = served.output().split('\n').filter((l) => l.includes('"component":"supervisor"'))
    expect(supervisorLines.length).toBeGreaterThan(3)
    for (const line of supervisorLines) expect(line.match(/"pid":/g)).toHaveLength(1)
  })

  it('refuses to run under systemd notify (the unit supervises; two supervisors would fight)', async () => {
    const served = serve({ NOTIFY_SOCKET: join(work, 'nobody.sock') }, { args: ['--supervise'] })
    expect((await served.exited).code).toBe(2)
    expect(served.output()).toContain('--supervise is for runs without systemd')
  })
})

describe('deploy/systemd/tts-cache.service', () => {
  it('is Type=notify with WatchdogSec, WatchdogSignal=SIGKILL and Restart=always, and systemd-analyze verify accepts it', async () => {
    const unit = await readFile(join(ROOT, 'deploy/systemd/tts-cache.service'), 'utf8')
    const settings = (key: string): string[] => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!)
    expect(settings('Type')).toEqual(['notify'])
    expect(settings('NotifyAccess')).toEqual(['main'])
    expect(settings('WatchdogSignal')).toEqual(['SIGKILL'])
    expect(settings('Restart')).toEqual(['always'])
    const watchdogSec = settings('WatchdogSec')
    expect(watchdogSec).toHaveLength(1)
    // The bound on silence is WatchdogSec plus the fallback's start: keep it under 3 s.
    expect(Number(/^(\d+(?:\.\d+)?)s$/.exec(watchdogSec[0]!)?.[1])).toBeLessThanOrEqual(2)
    expect(settings('ExecStart')[0]).toMatch(/dist\/cli\/main\.js serve$/)
    // The copy in docs/operations.md is this file.
    expect(await readFile(join(ROOT, 'docs/operations.md'), 'utf8')).toContain(unit.slice(unit.indexOf('[Unit]')).trim())
    const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' })
    if (analyze.error !== undefined) {
      process.stderr.write('deploy/systemd: systemd-analyze is not installed, only the settings were checked\n')
      return
    }
    // verify checks that ExecStart's binary exists: point it at this Node.
    const copy = join(work, 'tts-cache.service')
    await writeFile(copy, unit.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`))
    const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' })
    expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('')
    expect(verify.status).toBe(0)
  })
})
