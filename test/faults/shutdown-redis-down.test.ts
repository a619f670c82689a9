/**
 * Fault: SIGTERM while the cluster's Redis is dead. Found on the real-FreeSWITCH suite's
 * Redis-killed scenario: `tts-cache serve` (REDIS_URL, a worker in process) logged `stopped`
 * and then never exited (measured: still running 600 s later) — BullMQ's Worker.close() waits
 * for its blocking BZPOPMIN, which waits for a Redis that is not coming back, and meanwhile its
 * lock-extender timer re-arms itself every 15 s. systemd then waits its TimeoutStopSec, a
 * --supervise parent or an orchestrator its own kill timeout, and a restart waits on both.
 *
 * No timing assertion: the process must exit (with 0) at all; the bound below only turns
 * "never" into a failure with a message instead of the test's own timeout.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ROOT } from '../harness/app/test-app.js'
import { freePort, redisServerInstalled, spawnRedisServer } from '../harness/redis/server.js'

const NEVER_MS = 30_000

describe.skipIf(!redisServerInstalled())('fault: SIGTERM while Redis is dead (cluster mode)', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('serve drains and exits 0 instead of waiting for Redis forever', async () => {
    const redis = await spawnRedisServer()
    cleanups.push(() => redis.stop())
    const dir = await mkdtemp(join(tmpdir(), 'tts-shutdown-redis-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const [http, esl] = [await freePort(), await freePort()]
    const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/root',
        REDIS_URL: redis.url,
        TTS_CACHE_DIR: join(dir, 'cache'),
        TTS_HTTP_HOST: '127.0.0.1',
        TTS_HTTP_PORT: String(http),
        TTS_ESL_HOST: '127.0.0.1',
        TTS_ESL_PORT: String(esl),
        TTS_SHUTDOWN_GRACE_MS: '500',
        TTS_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    })

    // Ready, and a render through the cluster (the worker has taken jobs and waits for more).
    let ready = false
    for (let attempt = 0; attempt < 300 && !ready; attempt++) {
      ready = await fetch(`http://127.0.0.1:${http}/readyz`).then((r) => r.ok, () => false)
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(ready, output).toBe(true)
    const res = await fetch(`http://127.0.0.1:${http}/v1/tts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Through the cluster.' }) })
    expect(res.status).toBe(200)

    await redis.kill('SIGKILL')
    child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      exited,
      new Promise<'still running'>((resolve) => {
        timer = setTimeout(() => resolve('still running'), NEVER_MS)
      }),
    ])
    clearTimeout(timer)
    expect(outcome, `serve after SIGTERM with Redis dead; its log:\n${output.slice(-3000)}`).toEqual({ code: 0, signal: null })
    expect(output).toContain('"msg":"stopped"')
  }, 60_000)
})
