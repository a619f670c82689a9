import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))

interface Event {
  event: string
  [key: string]: unknown
}

/** The child process and a way to wait for its events (JSON lines on stdout). */
function startServer(dir: string): { child: ChildProcessWithoutNullStreams; next(match: (e: Event) => boolean): Promise<Event>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', './test/harness/ts-hooks.mjs', 'test/harness/http/serve.ts'], {
    cwd: root,
    env: { ...process.env, TTS_TEST_ROOT: dir },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const seen: Event[] = []
  const timeline: string[] = []
  const waiters: { match: (e: Event) => boolean; resolve: (e: Event) => void; reject: (err: Error) => void }[] = []
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  let exited: string | undefined
  // 'close' (not 'exit'): every line the child printed has been read by then.
  child.on('close', (code, signal) => {
    exited = `the server exited (code ${String(code)}, signal ${String(signal)}); stderr:\n${stderr}`
    for (const w of waiters.splice(0)) w.reject(new Error(exited))
  })
  createInterface({ input: child.stdout }).on('line', (line) => {
    timeline.push(`${new Date().toISOString()} ${line}`)
    let event: Event
    try {
      event = JSON.parse(line) as Event
    } catch {
      return
    }
    // Each event is consumed once: by the first waiter it matches, or later by next().
    const waiter = waiters.find((x) => x.match(event))
    if (waiter === undefined) {
      seen.push(event)
      return
    }
    waiters.splice(waiters.indexOf(waiter), 1)
    waiter.resolve(event)
  })
  return {
    child,
    stderr: () => stderr,
    next(match) {
      const already = seen.find(match)
      if (already !== undefined) {
        seen.splice(seen.indexOf(already), 1)
        return Promise.resolve(already)
      }
      if (exited !== undefined) return Promise.reject(new Error(exited))
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve, reject }
        waiters.push(waiter)
        // A hang guard, not a timing assertion: fail with what happened instead of hanging.
        setTimeout(() => {
          if (!waiters.includes(waiter)) return
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(new Error(`no matching event; events so far:\n${timeline.join('\n')}\nstderr:\n${stderr}`))
        }, 120_000).unref()
      })
    },
  }
}

let running: ChildProcessWithoutNullStreams | undefined
let dir: string | undefined

afterEach(async () => {
  if (running !== undefined && running.exitCode === null) running.kill('SIGKILL')
  running = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

describe('graceful shutdown', () => {
  it('on SIGTERM, finishes every request in flight with 200, then exits 0', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tts-http-serve-'))
    const server = startServer(dir)
    running = server.child
    const exited = once(server.child, 'exit')
    const { port } = await server.next((e) => e.event === 'listening')
    const base = `http://127.0.0.1:${String(port)}`
    // Two renders run (concurrency 2), one waits in the queue, one request joins a render in flight.
    const inFlight = [
      fetch(`${base}/v1/tts?text=first%20prompt`),
      fetch(`${base}/v1/tts?text=second%20prompt`),
      fetch(`${base}/v1/tts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'third prompt' }) }),
      fetch(`${base}/v1/tts?text=first%20prompt`),
    ]
    // Nothing may be answered before the shutdown: fail at once (with the status) if it is.
    const earlyAnswer = Promise.race(inFlight).then((r) => {
      throw new Error(`a request was answered before the shutdown: ${r.status}`)
    })
    const ready = (async () => {
      for (let i = 0; i < inFlight.length; i++) await server.next((e) => e.event === 'request')
      await server.next((e) => e.event === 'render')
      await server.next((e) => e.event === 'render')
    })()
    await Promise.race([ready, earlyAnswer])
    earlyAnswer.catch(() => undefined)

    server.child.kill('SIGTERM')
    await server.next((e) => e.event === 'closing')
    server.child.stdin.write('release\n')

    const responses = await Promise.all(inFlight)
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200])
    const bodies = await Promise.all(responses.map(async (r) => Buffer.from(await r.arrayBuffer())))
    expect(bodies[0]?.toString('ascii', 0, 4)).toBe('RIFF')
    expect(bodies[1]?.toString('ascii', 0, 4)).toBe('RIFF')
    expect(JSON.parse(bodies[2]?.toString('utf8') ?? '{}')).toMatchObject({ status: 'rendered' })
    expect(bodies[3]?.equals(bodies[0] ?? Buffer.alloc(0))).toBe(true)
    expect(responses.map((r) => r.headers.get('x-tts-cache')).sort()).toEqual(['coalesced', 'rendered', 'rendered', 'rendered'])

    await server.next((e) => e.event === 'closed')
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null]
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    // Nothing was logged at error level (the child logs JSON lines at warn and above to stderr).
    expect(server.stderr()).not.toMatch(/"level":(50|60)/)
    // A generous bound, not a timing assertion: starting a child (type stripping, engine
    // detection) on a loaded 2-core CI box can take most of a minute.
  }, 300_000)
})
