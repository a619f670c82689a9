/**
 * Hits answered from memory (HotAudio, precomputed headers, reply written at once), the memo of
 * resolved phrases, and the fan-out of one render to its waiters (issue 19, goals 1 and 3): the
 * same answers as the general path, never a stale file, and work counted per key, not per waiter.
 */
import { readFile, unlink } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { TtsError } from '../../src/core/errors.js'
import type { EngineCatalog } from '../../src/core/ports/index.js'
import { auth, eventually, testApp } from '../harness/http/test-apps.js'

const hello = '/v1/tts?text=Hello%20caller'

/** Value of one Prometheus sample line (0 when absent). */
async function metric(t: Awaited<ReturnType<typeof testApp>>, line: string): Promise<number> {
  const found = (await t.metrics.text()).split('\n').find((l) => l.startsWith(`${line} `))
  return found === undefined ? 0 : Number(found.slice(line.length + 1))
}

/** Headers that differ between any two responses (the clock, the generated request id). */
function stableHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const { date: _date, 'x-request-id': _id, ...rest } = headers
  return rest
}

/** espeak-ng whose version can change at run time (as EngineCatalog.adopt does). */
class ChangingCatalog implements EngineCatalog {
  version = 'v1'
  versionOf(engine: string): string {
    if (engine !== 'espeak-ng') throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [engine] })
    return this.version
  }
  checkVoice(engine: string): void {
    this.versionOf(engine)
  }
  ids(): readonly string[] {
    return ['espeak-ng']
  }
}

describe('coalesced waiters of one miss (fan-out)', () => {
  it('share one read of the new file and get the bytes the render wrote; the render runs once', async () => {
    const t = await testApp({ config: { queueLimit: 1000 } })
    t.renderer.hold()
    const leader = t.app.inject({ method: 'GET', url: hello })
    await t.renderer.waitForStarted(1)
    const waiters = Array.from({ length: 60 }, (_, i) => t.app.inject({ method: i % 6 === 0 ? 'HEAD' : 'GET', url: hello }))
    await eventually(async () => ((await metric(t, 'tts_coalesced_waiters_total{source="http"}')) === 60 ? true : undefined))
    t.renderer.release()
    const answers = await Promise.all([leader, ...waiters])
    const key = String(answers[0]?.headers.etag).slice(1, -1)
    const file = await readFile(t.store.pathFor(key))
    expect(answers.map((r) => [r.statusCode, r.headers['x-tts-cache']])).toEqual([[200, 'rendered'], ...waiters.map(() => [200, 'coalesced'])])
    answers.forEach((r, i) => {
      expect(r.headers['content-length']).toBe(String(file.length))
      expect(r.rawPayload.equals(i > 0 && (i - 1) % 6 === 0 ? Buffer.alloc(0) : file)).toBe(true)
    })
    expect(t.renderer.started).toHaveLength(1)
    // One read of the file for the 61 answers (not one per waiter).
    expect(t.app.hotAudio.reads).toBe(1)
    // Later hits come from memory: no more reads.
    expect((await t.app.inject({ method: 'GET', url: hello })).headers['x-tts-cache']).toBe('hit')
    expect(t.app.hotAudio.reads).toBe(1)
  })
})

describe('hits answered from memory', () => {
  it('carry the same status, headers and bytes as hits streamed from disk (GET, HEAD, /v1/audio)', async () => {
    const hot = await testApp()
    const cold = await testApp({ config: { httpHotBytes: 0 } })
    for (const t of [hot, cold]) await t.app.inject({ method: 'GET', url: hello })
    const key = String((await hot.app.inject({ method: 'HEAD', url: hello })).headers.etag).slice(1, -1)
    for (const request of [
      { method: 'GET', url: hello },
      { method: 'HEAD', url: hello },
      { method: 'GET', url: `/v1/audio/${key}.wav` },
      { method: 'HEAD', url: `/v1/audio/${key}.wav` },
    ] as const) {
      const [a, b] = [await hot.app.inject({ ...request, headers: { 'x-request-id': 'r-1' } }), await cold.app.inject({ ...request, headers: { 'x-request-id': 'r-1' } })]
      expect(a.statusCode, request.url).toBe(200)
      expect(stableHeaders(a.headers), `${request.method} ${request.url}`).toEqual(stableHeaders(b.headers))
      expect(a.headers['x-request-id']).toBe('r-1')
      expect(a.rawPayload.equals(b.rawPayload)).toBe(true)
    }
    // Range and If-None-Match still answered as before from memory.
    const partial = await hot.app.inject({ method: 'GET', url: hello, headers: { range: 'bytes=0-9' } })
    expect([partial.statusCode, partial.headers['content-range'], partial.rawPayload.length]).toEqual([206, `bytes 0-9/${(await readFile(hot.store.pathFor(key))).length}`, 10])
    const unchanged = await hot.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav`, headers: { 'if-none-match': `"${key}"` } })
    expect([unchanged.statusCode, unchanged.rawPayload.length]).toEqual([304, 0])
  })

  it('are counted once each, in the service results and in the HTTP requests', async () => {
    const t = await testApp()
    await t.app.inject({ method: 'GET', url: hello })
    for (let i = 0; i < 3; i++) expect((await t.app.inject({ method: 'GET', url: hello })).headers['x-tts-cache']).toBe('hit')
    expect(await metric(t, 'tts_requests_total{source="http",result="hit"}')).toBe(3)
    expect(await metric(t, 'tts_http_requests_total{method="GET",route="/v1/tts",status_code="200"}')).toBe(4)
  })

  it('are never served for a file deleted since: the lookup still stats it', async () => {
    const t = await testApp()
    const first = await t.app.inject({ method: 'GET', url: hello })
    const key = String(first.headers.etag).slice(1, -1)
    expect((await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav` })).statusCode).toBe(200)
    await unlink(t.store.pathFor(key))
    expect((await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav` })).statusCode).toBe(404)
    const again = await t.app.inject({ method: 'GET', url: hello })
    expect([again.statusCode, again.headers['x-tts-cache']]).toEqual([200, 'rendered'])
    expect(t.renderer.started).toHaveLength(2)
  })
})

describe('the memo of resolved phrases', () => {
  it('follows the engine catalog: a new engine version is a new key, rendered again', async () => {
    const engines = new ChangingCatalog()
    const t = await testApp({ engines, config: { engine: 'espeak-ng', voice: '' } })
    const first = await t.app.inject({ method: 'GET', url: hello })
    expect((await t.app.inject({ method: 'GET', url: hello })).headers['x-tts-cache']).toBe('hit')
    engines.version = 'v2'
    const after = await t.app.inject({ method: 'GET', url: hello })
    expect(after.headers['x-tts-cache']).toBe('rendered')
    expect(after.headers.etag).not.toBe(first.headers.etag)
    expect(t.renderer.started.map((job) => job.engineVersion)).toEqual(['v1', 'v2'])
  })

  it('keeps no error: a phrase refused once is refused again, counted each time', async () => {
    const t = await testApp()
    for (let i = 0; i < 2; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/tts?text=hi&voice=xx' })
      expect([res.statusCode, res.json().code]).toEqual([400, 'TTS_ERR_UNKNOWN_VOICE'])
    }
    expect(await metric(t, 'tts_errors_total{source="http",code="TTS_ERR_UNKNOWN_VOICE"}')).toBe(2)
  })

  it('is not used for refresh=true: the forced render happens', async () => {
    const t = await testApp()
    await t.app.inject({ method: 'GET', url: hello })
    const refreshed = await t.app.inject({ method: 'GET', url: `${hello}&refresh=true`, headers: auth })
    expect(refreshed.headers['x-tts-cache']).toBe('rendered')
    expect(t.renderer.started).toHaveLength(2)
  })
})
