/**
 * Fault: `tts-cache serve` killed with SIGKILL while it renders (issue 17, item 10). Nothing the
 * service writes may be seen half-written, and nothing may be left that blocks or leaks: the
 * render host and the engine die with it (no orphan keeps rendering), the temp file and the render
 * lock it left are cleaned by the next start, whose first request for the phrase renders it at
 * once (the dead owner's lock is stale at once) into a complete WAV.
 *
 * test/store/disk/cross-process.test.ts ("crash safety") proves the store's half of this with store
 * children killed mid-write; this test runs the real built service, its render host and a real
 * engine held mid-render by the wait-for-gate fixture (a handshake file, no sleeps).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isCanonicalWav, parseWavHeader } from '../../src/audio/wav.js'
import { fixture } from '../fixtures/engines/helpers.js'
import { ROOT, tempDir } from '../harness/app/test-app.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Serve {
  readonly child: ChildProcess
  readonly port: Promise<number>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function startServe(env: Record<string, string>): Serve {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/root',
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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const port = new Promise<number>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      output += d
      const match = /"port":(\d+),[^\n]*"msg":"HTTP API listening"/.exec(output)
      if (match !== null) resolve(Number(match[1]))
    })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d))
    void exited.then(({ code }) => reject(new Error(`serve exited (${code}) before listening:\n${output}`)))
  })
  port.catch(() => undefined)
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  return { child, port, exited }
}

/** Polls (no timing asserted) until `check` returns a value. */
async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Whether a process with this pid is alive (not a zombie), read from /proc. */
async function alive(pid: number): Promise<boolean> {
  try {
    const statLine = await readFile(`/proc/${pid}/stat`, 'utf8')
    const state = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')[0]
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/** Living children of `ppid` (its render host), read from /proc. */
async function childrenOf(ppid: number): Promise<number[]> {
  const found: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const statLine = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '')
    const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[1]) === ppid && fields[0] !== 'Z' && fields[0] !== 'X') found.push(Number(name))
  }
  return found
}

describe('fault: serve killed with SIGKILL mid-render', () => {
  it('leaves no half WAV, no orphan render, and the next start cleans up and renders the phrase at once', async () => {
    const { dir, cleanup } = await tempDir('tts-kill9-')
    cleanups.push(cleanup)
    const cacheDir = join(dir, 'cache')
    const gate = join(dir, 'gate')
    const started = join(dir, 'started')
    const env = {
      TTS_CACHE_DIR: cacheDir,
      TTS_ENGINE: 'command',
      TTS_COMMAND: JSON.stringify([fixture('wait-for-gate'), gate, started, '--stdin', '-b', '1', '-w', '{out}']),
    }
    const text = 'Killed in the middle of this sentence'
    const first = startServe(env)
    const port = await first.port
    const request = fetch(`http://127.0.0.1:${port}/v1/tts?text=${encodeURIComponent(text)}`).then(
      (res) => res.status,
      (err: unknown) => err,
    )
    // The engine runs (held at the gate): its pid is the line it wrote.
    const enginePid = await until(async () => {
      const line = await readFile(started, 'utf8').catch(() => '')
      const match = /^started (\d+)$/m.exec(line)
      return match === null ? undefined : Number(match[1])
    })
    const key = await until(async () => {
      const files = await readdir(cacheDir, { recursive: true }).catch(() => [] as string[])
      const lock = files.map(String).find((f) => f.endsWith('.lock'))
      return lock === undefined ? undefined : (/([0-9a-f]{64})\.lock$/.exec(lock)?.[1] ?? undefined)
    })

    const hosts = await childrenOf(first.child.pid ?? 0)
    expect(hosts.length).toBeGreaterThan(0)
    first.child.kill('SIGKILL')
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' })
    expect(await request).toBeInstanceOf(Error) // the connection died with the process
    // The render host notices its parent is gone and kills the engine's process group.
    await until(async () => ((await alive(enginePid)) ? undefined : true))
    for (const host of hosts) await until(async () => ((await alive(host)) ? undefined : true))
    // Nothing was published: no WAV under the final name (only the dead render's temp and lock).
    const wavPath = join(cacheDir, key.slice(0, 2), key.slice(2, 4), `${key}.wav`)
    await expect(stat(wavPath)).rejects.toMatchObject({ code: 'ENOENT' })
    const leftovers = (await readdir(cacheDir, { recursive: true })).map(String).filter((f) => /\.(tmp\.|lock$)/.test(f))
    expect(leftovers.length).toBeGreaterThan(0)

    // Restart with the gate open: the scan removes the dead render's files; the phrase renders at once.
    await writeFile(gate, '')
    const second = startServe(env)
    const port2 = await second.port
    const res = await fetch(`http://127.0.0.1:${port2}/v1/tts?text=${encodeURIComponent(text)}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-tts-cache')).toBe('rendered')
    const body = Buffer.from(await res.arrayBuffer())
    const check = parseWavHeader(body, body.length)
    expect(check.ok && isCanonicalWav(check.info, 8000)).toBe(true)
    expect((await readFile(wavPath)).equals(body)).toBe(true)
    await until(async () => {
      const files = (await readdir(cacheDir, { recursive: true })).map(String)
      return files.some((f) => /\.(tmp\.|lock$)/.test(f)) ? undefined : files
    })
    second.child.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  })
})
