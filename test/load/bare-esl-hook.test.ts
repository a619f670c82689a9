import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createConnection } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { eslCall, phraseText, runEslLoad } from '../../load/esl-load.js'

const HOOK = fileURLToPath(new URL('../../load/bench/fixtures/bare-esl-hook.js', import.meta.url))
const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

/** Sends `type` over IPC and resolves with the first message of type `answer`. */
function ask<T>(child: ChildProcess, type: string | undefined, answer: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string }): void => {
      if (message.type !== answer) return
      child.off('message', onMessage)
      resolve(message as T)
    }
    child.on('message', onMessage)
    child.once('exit', (code) => reject(new Error(`bare-esl-hook exited (${String(code)}) before '${answer}'`)))
    if (type !== undefined) child.send({ type })
  })
}

interface Report {
  service: { count: number; p50Ms: number; p99Ms: number; byStatus: Record<string, number> }
  cpu: { perCallUs: number }
}

describe('load/bench/fixtures/bare-esl-hook.js (the ESL scenario\'s Node ceiling)', () => {
  it('answers the load generator\'s calls as a hook must (file, status, key from the text) and reports them over IPC', async () => {
    const child = fork(HOOK, ['--file', HOOK], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    children.push(child)
    const { port } = await ask<{ port: number }>(child, undefined, 'ready')
    await ask(child, 'reset', 'reset')
    const load = await runEslLoad({ port, channels: 4, phrases: 5, zipfS: 1, calls: 40, seed: 1, textPrefix: 'bare', callTimeoutMs: 10_000 })
    // runEslLoad fails a call whose hit lacks tts_file or tts_cache_key.
    expect(load.failed).toBe(0)
    expect(load.completed).toBe(40)
    expect(load.withFile).toBe(40)
    expect(load.byStatus).toEqual({ hit: 40 })
    const report = await ask<Report>(child, 'report', 'report')
    expect(report.service.count).toBe(40)
    expect(report.service.byStatus).toEqual({ hit: 40 })
    expect(report.service.p99Ms).toBeGreaterThanOrEqual(report.service.p50Ms)
    expect(report.cpu.perCallUs).toBeGreaterThan(0)
    await ask(child, 'stop', 'stopped')
  })

  it('writes the sha256 of the text the channel sent as tts_cache_key, and an error status when its file is gone', async () => {
    const missing = fork(HOOK, ['--file', '/nonexistent/bare.wav'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    children.push(missing)
    const { port } = await ask<{ port: number }>(missing, undefined, 'ready')
    const call = await eslCall(port, phraseText('bare', 1), { callTimeoutMs: 10_000 })
    expect(call.status).toBe('error')
    const text = phraseText('bare', 2)
    // The key the hook writes: a simulated FreeSWITCH that records it (one call over a raw socket).
    const good = fork(HOOK, ['--file', HOOK], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    children.push(good)
    const ready = await ask<{ port: number }>(good, undefined, 'ready')
    const written = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ port: ready.port, host: '127.0.0.1' })
      let data = ''
      socket.setEncoding('utf8')
      socket.on('error', reject)
      socket.on('data', (chunk: string) => {
        data += chunk
        if (data === 'connect\n\n') {
          data = ''
          socket.write(`Content-Type: command/reply\nUnique-ID: 11111111-2222-3333-4444-555555555555\nvariable_tts_cache_text: ${encodeURIComponent(text)}\n\n`)
        } else if (data.endsWith('exit\n\n')) {
          socket.destroy()
          resolve(data)
        }
      })
    })
    const key = createHash('sha256').update(text).digest('hex')
    expect(written).toBe(
      `api uuid_setvar 11111111-2222-3333-4444-555555555555 tts_file ${HOOK}\n\n` +
        'api uuid_setvar 11111111-2222-3333-4444-555555555555 tts_cache_status hit\n\n' +
        `api uuid_setvar 11111111-2222-3333-4444-555555555555 tts_cache_key ${key}\n\nexit\n\n`,
    )
  })
})
