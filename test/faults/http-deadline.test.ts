/**
 * Fault: the render queue is busy (issue 17: "with 500 ESL channels busy, first-time HTTP
 * requests waited 12–30 s+ in a 1,000-deep queue"). Every HTTP request that waits for audio has
 * a deadline (TTS_HTTP_DEADLINE_MS): past it, 504 TTS_ERR_DEADLINE_EXCEEDED with Retry-After,
 * and the render goes on, so the retry finds it.
 *
 * The real app with a real engine that blocks until the test creates a gate file (no sleeps):
 * one render slot, held by the first phrase; the others wait in the queue. The deadline is
 * small; nothing here measures how long anything took.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { fixture, makeTempDir, removeTempDirs } from '../fixtures/engines/helpers.js'
import { eventually } from '../harness/http/test-apps.js'
import { buildRealHttpApp, type RealHttpApp } from '../harness/http/real-app.js'

const apps: RealHttpApp[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
  await removeTempDirs()
})

async function linesOf(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => '')
  return text.split('\n').filter((line) => line !== '')
}

/** The real app whose `command` engine waits for `gate` to exist; each start adds a line to `started`. */
async function gatedApp(config: Record<string, unknown> = {}): Promise<{ t: RealHttpApp; gate: string; started: string }> {
  const dir = await makeTempDir('tts-deadline-')
  const gate = join(dir, 'gate')
  const started = join(dir, 'started')
  const t = await buildRealHttpApp({
    config: {
      engine: 'command',
      command: [fixture('wait-for-gate'), gate, started, '--stdin', '-b', '1', '-w', '{out}'],
      renderConcurrency: 1,
      queueLimit: 10,
      httpDeadlineMs: 200,
      ...config,
    },
  })
  apps.push(t)
  return { t, gate, started }
}

describe('fault: HTTP requests behind a busy render queue', () => {
  it('are answered at their deadline with 504 TTS_ERR_DEADLINE_EXCEEDED and Retry-After; the renders go on and are cached', async () => {
    const { t, gate, started } = await gatedApp()
    // The one render slot: taken by the first phrase, whose engine waits for the gate.
    const running = t.app.inject({ method: 'GET', url: '/v1/tts?text=first' })
    await eventually(async () => ((await linesOf(started)).length === 1 ? true : undefined))
    // These wait in the queue behind it.
    const queuedGet = t.app.inject({ method: 'GET', url: '/v1/tts?text=second' })
    const queuedPost = t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'third' } })
    const queuedHead = t.app.inject({ method: 'HEAD', url: '/v1/tts?text=fourth' })

    for (const response of await Promise.all([running, queuedGet, queuedPost])) {
      expect(response.statusCode).toBe(504)
      expect(response.json()).toEqual({ code: 'TTS_ERR_DEADLINE_EXCEEDED', message: 'audio was not ready within 200 ms' })
      expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/)
      expect(response.headers['cache-control']).toBe('no-store')
      expect(response.headers['x-tts-cache']).toBeUndefined()
    }
    const head = await queuedHead
    expect(head.statusCode).toBe(504)
    expect(head.headers['retry-after']).toMatch(/^[1-9]\d*$/)

    // The waiters gave up; the renders did not: once the engine may finish, each phrase is
    // rendered (once) and cached, so the retry the client was told to make is a hit.
    await writeFile(gate, '')
    for (const text of ['first', 'second', 'third', 'fourth']) {
      const key = t.ctx.service.resolve({ text }).key
      await eventually(() => t.ctx.store.lookup(key))
      const retry = await t.app.inject({ method: 'GET', url: `/v1/tts?text=${text}` })
      expect([text, retry.statusCode, retry.headers['x-tts-cache']]).toEqual([text, 200, 'hit'])
    }
    expect(await linesOf(started)).toHaveLength(4)
    expect(await t.ctx.metrics.text()).toContain('tts_errors_total{source="http",code="TTS_ERR_DEADLINE_EXCEEDED"} 4')
  })

  it('a client that goes away still cancels a render nobody else waits for (only the deadline keeps it going)', async () => {
    const { t, started } = await gatedApp({ httpDeadlineMs: 60_000 })
    const controller = new AbortController()
    const running = t.app.inject({ method: 'GET', url: '/v1/tts?text=abandoned', signal: controller.signal })
    await eventually(async () => ((await linesOf(started)).length === 1 ? true : undefined))
    controller.abort()
    await running.catch(() => undefined)
    await eventually(() => (t.ctx.queue.stats().active === 0 ? true : undefined))
    expect(t.ctx.store.lookup(t.ctx.service.resolve({ text: 'abandoned' }).key)).toBeUndefined()
  })
})
