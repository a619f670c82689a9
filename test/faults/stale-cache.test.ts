/**
 * Fault: a cached WAV deleted, truncated or replaced behind the service (issue 17, item 1). An
 * operator's cleanup, `tts-cache purge` from the CLI while `serve` runs, `rm -rf` of the cache
 * dir, `truncate -s 1000 <key>.wav`: the index in memory still holds the entry. A hit must be a
 * file that exists now with the length (and identity) the index holds; anything else is dropped
 * from the index, counted in tts_cache_stale_total{reason}, and goes down the miss path (rendered
 * again, the bad file replaced atomically). Real app (buildApp: DiskStore, espeak-ng, sox, pool),
 * real files, Fastify inject and the ESL hook harness; the CLI is the built one.
 */
import { readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { isCanonicalWav, parseWavHeader } from '../../src/audio/wav.js'
import { runCli } from '../harness/cli/run-cli.js'
import { startHook } from '../harness/esl/hook.js'
import { eventually } from '../harness/http/test-apps.js'
import { TEST_TOKEN } from '../harness/http/test-app.js'
import { buildRealHttpApp, type RealHttpApp } from '../harness/http/real-app.js'

const open: RealHttpApp[] = []
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const t of open.splice(0)) await t.close()
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function realApp(config: Record<string, unknown> = {}): Promise<RealHttpApp> {
  const t = await buildRealHttpApp({ config })
  open.push(t)
  return t
}

const auth = { authorization: `Bearer ${TEST_TOKEN}` }
const url = (text: string): string => `/v1/tts?text=${encodeURIComponent(text)}`

/** A complete canonical WAV at 8 kHz: the whole file, as its header says. */
function expectCompleteWav(bytes: Buffer): void {
  const check = parseWavHeader(bytes, bytes.length)
  expect(check.ok, check.ok ? '' : check.reason).toBe(true)
  expect(check.ok && isCanonicalWav(check.info, 8000)).toBe(true)
}

/** Value of one Prometheus sample line (0 when absent). */
async function metric(t: RealHttpApp, line: string): Promise<number> {
  const text = await t.ctx.metrics.text()
  const found = text.split('\n').find((l) => l.startsWith(`${line} `))
  return found === undefined ? 0 : Number(found.slice(line.length + 1))
}

const staleMetric = (reason: string): string => `tts_cache_stale_total{reason="${reason}"}`
const httpHits = 'tts_requests_total{source="http",result="hit"}'

describe('fault: a cached WAV deleted behind the service', () => {
  it('GET /v1/tts renders it again (never the copy in memory), and counts a stale entry, not a hit', async () => {
    const t = await realApp()
    const text = 'Deleted behind the service'
    const first = await t.app.inject({ method: 'GET', url: url(text) })
    expect(first.headers['x-tts-cache']).toBe('rendered')
    const key = String(first.headers.etag).slice(1, -1)
    const path = t.ctx.store.pathFor(key)
    // The second answer comes from the index, and its bytes are now held in memory (HotAudio).
    expect((await t.app.inject({ method: 'GET', url: url(text) })).headers['x-tts-cache']).toBe('hit')
    expect(await metric(t, httpHits)).toBe(1)

    await unlink(path)
    const third = await t.app.inject({ method: 'GET', url: url(text) })
    expect(third.statusCode).toBe(200)
    expect(third.headers['x-tts-cache']).toBe('rendered')
    expectCompleteWav(third.rawPayload)
    expect((await readFile(path)).equals(third.rawPayload)).toBe(true)
    expect(await metric(t, staleMetric('missing'))).toBe(1)
    expect(await metric(t, httpHits)).toBe(1)
    expect(t.gate.started).toHaveLength(2)
  })

  it('POST /v1/tts answers with a path that exists (rendered again), not the deleted one', async () => {
    const t = await realApp()
    const body = { text: 'Where is my file' }
    const first = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: body })
    const { path } = first.json<{ path: string }>()
    await unlink(path)
    const second = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: body })
    expect(second.json()).toMatchObject({ status: 'rendered', path })
    expectCompleteWav(await readFile(path))
  })

  it('GET /v1/audio/<key>.wav answers 404 for a deleted file, even when its bytes were hot', async () => {
    const t = await realApp()
    const first = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'Fetched by key' } })
    const { key, path } = first.json<{ key: string; path: string }>()
    expect((await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav` })).statusCode).toBe(200)
    await unlink(path)
    const gone = await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav` })
    expect(gone.statusCode).toBe(404)
    expect(gone.json()).toMatchObject({ code: 'TTS_ERR_NOT_FOUND' })
  })

  it('POST /v1/prewarm does not count a deleted file as already cached: it renders it', async () => {
    const t = await realApp()
    const text = 'Prewarmed, then deleted'
    const first = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text } })
    await unlink(first.json<{ path: string }>().path)
    const batch = await t.app.inject({ method: 'POST', url: '/v1/prewarm', payload: { items: [{ text }] }, headers: auth })
    expect(batch.statusCode).toBe(202)
    expect(batch.json()).toMatchObject({ total: 1, cached: 0, queued: 1 })
    const id = batch.json<{ id: string }>().id
    expect(await eventually(async () => {
      const body = (await t.app.inject({ method: 'GET', url: `/v1/prewarm/${id}` })).json<{ state: string }>()
      return body.state === 'running' ? undefined : body
    })).toMatchObject({ state: 'done', done: 1, failed: 0, cached: 0 })
    expectCompleteWav(await readFile(first.json<{ path: string }>().path))
    expect(t.gate.started).toHaveLength(2)
  })

  it('`tts-cache purge --all` from the CLI while the service runs: its next requests render again', async () => {
    const t = await realApp()
    const texts = ['Purged by the CLI one', 'Purged by the CLI two']
    for (const text of texts) expect((await t.app.inject({ method: 'GET', url: url(text) })).headers['x-tts-cache']).toBe('rendered')
    const purge = await runCli(['purge', '--all', '--yes', '--json'], { TTS_CACHE_DIR: t.cacheDir, TTS_LOG_LEVEL: 'silent' })
    expect(purge.code, purge.stderr).toBe(0)
    expect(JSON.parse(purge.stdout)).toEqual({ dryRun: false, removed: 2, keptPinned: 0 })
    for (const text of texts) {
      const res = await t.app.inject({ method: 'GET', url: url(text) })
      expect(res.headers['x-tts-cache']).toBe('rendered')
      expectCompleteWav(res.rawPayload)
    }
    expect(await metric(t, staleMetric('missing'))).toBe(2)
  })
})

describe('fault: a cached WAV truncated or replaced behind the service', () => {
  it('`truncate -s 1000 <key>.wav`: never served; rendered again and replaced atomically', async () => {
    const t = await realApp()
    const text = 'A file cut short behind the service, which must never be played half way'
    const first = await t.app.inject({ method: 'GET', url: url(text) })
    const key = String(first.headers.etag).slice(1, -1)
    const path = t.ctx.store.pathFor(key)
    expect(first.rawPayload.length).toBeGreaterThan(1000)
    await truncate(path, 1000)
    const truncatedIno = (await stat(path)).ino

    const byKey = await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav` })
    expect(byKey.statusCode).toBe(404)
    const again = await t.app.inject({ method: 'GET', url: url(text) })
    expect(again.statusCode).toBe(200)
    expect(again.headers['x-tts-cache']).toBe('rendered')
    expectCompleteWav(again.rawPayload)
    expect(again.rawPayload.length).toBe(first.rawPayload.length)
    // Published by rename over the short file (a new inode), not written into it.
    expect((await stat(path)).ino).not.toBe(truncatedIno)
    expect(await metric(t, staleMetric('size'))).toBe(1)
  })

  it('a file replaced by another (new inode, same name): the index entry is renewed from the disk', async () => {
    const t = await realApp()
    const text = 'Replaced by a peer'
    const first = await t.app.inject({ method: 'GET', url: url(text) })
    const key = String(first.headers.etag).slice(1, -1)
    const path = t.ctx.store.pathFor(key)
    expect((await t.app.inject({ method: 'GET', url: url(text) })).headers['x-tts-cache']).toBe('hit')
    // A peer's re-render: a complete file of the same key, renamed into place. Marked in its last
    // sample so old and new bytes differ.
    const marked = Buffer.from(first.rawPayload)
    marked[marked.length - 1] = (marked[marked.length - 1] ?? 0) ^ 0x55
    await writeFile(`${path}.peer`, marked)
    const { rename } = await import('node:fs/promises')
    await rename(`${path}.peer`, path)
    const after = await t.app.inject({ method: 'GET', url: url(text) })
    expect(after.headers['x-tts-cache']).toBe('hit')
    expect(after.rawPayload.equals(marked)).toBe(true)
    expect(await metric(t, staleMetric('replaced'))).toBe(1)
    expect(t.gate.started).toHaveLength(1)
  })
})

describe('fault: the cache directory removed (rm -rf) under a running service', () => {
  it('every hit renders again, /readyz says the directory is gone and recovers once it is back', async () => {
    const t = await realApp()
    const texts = ['Gone one', 'Gone two', 'Gone three']
    for (const text of texts) await t.app.inject({ method: 'GET', url: url(text) })
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ok' })

    await rm(t.cacheDir, { recursive: true, force: true })
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(200)
    const gone = ready.json<{ status: string; checks: Record<string, { state: string; detail: string }> }>()
    expect(gone.status).toBe('degraded')
    expect(gone.checks['cacheDir']).toMatchObject({ state: 'degraded' })
    expect(gone.checks['cacheDir']?.detail).toMatch(/is missing/)

    const again = await t.app.inject({ method: 'GET', url: url('Gone one') })
    expect(again.headers['x-tts-cache']).toBe('rendered')
    expectCompleteWav(again.rawPayload)
    // The directory is back (the render made it again): once the index is checked against it,
    // ready again, and the index no longer holds the other two.
    await eventually(async () => {
      const body = (await t.app.inject({ method: 'GET', url: '/readyz' })).json<{ status: string }>()
      return body.status === 'ok' ? body : undefined
    })
    expect(t.ctx.store.stats().entries).toBe(1)
    expect(await metric(t, staleMetric('missing'))).toBe(3)
    for (const text of texts.slice(1)) expect((await t.app.inject({ method: 'GET', url: url(text) })).headers['x-tts-cache']).toBe('rendered')
  })
})

/** A deadline no render here comes near, even on a loaded machine: the statuses are the point. */
const LONG_DEADLINE = { defaultDeadlineMs: 60_000, maxDeadlineMs: 60_000 }

describe('fault: the ESL hook asked for a deleted or truncated file', () => {
  it('a deleted file is rendered again: tts_file names a file that exists, status rendered', async () => {
    const hook = await startHook(LONG_DEADLINE, cleanups)
    const text = 'Your call is important to us'
    const call = () => hook.call({ variables: [['tts_cache_text', text]] })
    expect((await call()).variables.get('tts_cache_status')).toBe('rendered')
    expect((await call()).variables.get('tts_cache_status')).toBe('hit')
    await unlink(hook.expectedPath(text))
    const after = await call()
    expect(after.variables.get('tts_cache_status')).toBe('rendered')
    expect(after.played).toBe(hook.expectedPath(text))
    expectCompleteWav(await readFile(hook.expectedPath(text)))
    expect(hook.renders()).toBe(2)
  })

  it('a truncated file is rendered again and replaced, never handed to FreeSWITCH', async () => {
    const hook = await startHook(LONG_DEADLINE, cleanups)
    const text = 'Please hold while we connect your call to the next available agent'
    const call = () => hook.call({ variables: [['tts_cache_text', text]] })
    await call()
    const full = await readFile(hook.expectedPath(text))
    await truncate(hook.expectedPath(text), 1000)
    const after = await call()
    expect(after.variables.get('tts_cache_status')).toBe('rendered')
    expect((await readFile(hook.expectedPath(text))).length).toBe(full.length)
    expectCompleteWav(await readFile(hook.expectedPath(text)))
  })
})
