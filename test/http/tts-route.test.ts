import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { auth, eventually, testApp } from '../harness/http/test-apps.js'

const hello = '/v1/tts?text=Hello%20caller'

describe('GET /v1/tts', () => {
  it('renders a phrase once, then serves it from the cache with the same bytes', async () => {
    const t = await testApp()
    const first = await t.app.inject({ method: 'GET', url: hello })
    expect(first.statusCode).toBe(200)
    expect(first.headers['x-tts-cache']).toBe('rendered')
    expect(first.headers['content-type']).toBe('audio/wav')
    const second = await t.app.inject({ method: 'GET', url: hello })
    expect(second.headers['x-tts-cache']).toBe('hit')
    expect(second.rawPayload.equals(first.rawPayload)).toBe(true)
    expect(t.renderer.started).toHaveLength(1)
    const key = String(first.headers.etag).slice(1, -1)
    expect(key).toMatch(/^[0-9a-f]{64}$/)
    expect(first.rawPayload.equals(await readFile(t.store.pathFor(key)))).toBe(true)
    expect(first.rawPayload.subarray(0, 4).toString('ascii')).toBe('RIFF')
  })

  it('writes no log line for a hit at info level (one per request only at debug)', async () => {
    const t = await testApp({ config: { logLevel: 'info' } })
    await t.app.inject({ method: 'GET', url: hello })
    const before = t.logs.lines.length
    for (let i = 0; i < 5; i++) expect((await t.app.inject({ method: 'GET', url: hello })).headers['x-tts-cache']).toBe('hit')
    expect(t.logs.lines.slice(before)).toEqual([])
  })

  it('sends ETag "<key>", an immutable Cache-Control, Accept-Ranges and Content-Length', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: hello })
    expect(res.headers.etag).toMatch(/^"[0-9a-f]{64}"$/)
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(res.headers['accept-ranges']).toBe('bytes')
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length)
  })

  it('accepts a trailing ext=.wav (so a mod_http_cache URL ends in .wav) without changing the key, and refuses another ext', async () => {
    const t = await testApp()
    const plain = await t.app.inject({ method: 'GET', url: '/v1/tts?text=Hello.%20World' })
    const withExt = await t.app.inject({ method: 'GET', url: '/v1/tts?text=Hello.%20World&ext=.wav' })
    expect(withExt.statusCode).toBe(200)
    expect(withExt.headers.etag).toBe(plain.headers.etag)
    expect(withExt.headers['x-tts-cache']).toBe('hit')
    const other = await t.app.inject({ method: 'GET', url: '/v1/tts?text=Hello&ext=.mp3' })
    expect(other.statusCode).toBe(400)
  })

  it('applies voice, engine and rate (a different rate is a different key and a WAV at that rate)', async () => {
    const t = await testApp()
    const a = await t.app.inject({ method: 'GET', url: `${hello}&voice=en&engine=espeak-ng&rate=16000` })
    const b = await t.app.inject({ method: 'GET', url: `${hello}&voice=en&engine=espeak-ng&rate=8000` })
    expect(a.statusCode).toBe(200)
    expect(a.headers.etag).not.toBe(b.headers.etag)
    expect(a.rawPayload.readUInt32LE(24)).toBe(16000)
    expect(t.renderer.started.map((j) => [j.request.voice, j.request.engine, j.request.sampleRate])).toEqual([
      ['en', 'espeak-ng', 16000],
      ['en', 'espeak-ng', 8000],
    ])
  })

  it('answers HEAD with the headers of GET and no body, rendering if needed', async () => {
    const t = await testApp()
    const head = await t.app.inject({ method: 'HEAD', url: hello })
    expect(head.statusCode).toBe(200)
    expect(head.headers['x-tts-cache']).toBe('rendered')
    expect(head.rawPayload.length).toBe(0)
    const get = await t.app.inject({ method: 'GET', url: hello })
    expect(head.headers['content-length']).toBe(String(get.rawPayload.length))
    expect(head.headers.etag).toBe(get.headers.etag)
  })

  it('answers If-None-Match with the key with 304 and no body, without rendering', async () => {
    const t = await testApp()
    const first = await t.app.inject({ method: 'GET', url: hello })
    const etag = String(first.headers.etag)
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await t.app.inject({ method: 'GET', url: hello, headers: { 'if-none-match': inm } })
      expect(res.statusCode, inm).toBe(304)
      expect(res.rawPayload.length).toBe(0)
      expect(res.headers.etag).toBe(etag)
    }
    const other = await t.app.inject({ method: 'GET', url: '/v1/tts?text=never%20rendered', headers: { 'if-none-match': etag } })
    expect(other.statusCode).toBe(200)
    // The key alone proves the client holds the audio: no render for a 304.
    const t2 = await testApp()
    const cold = await t2.app.inject({ method: 'GET', url: hello, headers: { 'if-none-match': etag } })
    expect(cold.statusCode).toBe(304)
    expect(t2.renderer.started).toHaveLength(0)
  })

  it('serves one byte range with 206 and Content-Range', async () => {
    const t = await testApp()
    const full = (await t.app.inject({ method: 'GET', url: hello })).rawPayload
    const size = full.length
    const cases: [string, number, number][] = [
      ['bytes=0-43', 0, 43],
      ['bytes=44-', 44, size - 1],
      ['bytes=-100', size - 100, size - 1],
      [`bytes=10-${size + 500}`, 10, size - 1],
    ]
    for (const [range, start, end] of cases) {
      const res = await t.app.inject({ method: 'GET', url: hello, headers: { range } })
      expect(res.statusCode, range).toBe(206)
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`)
      expect(res.headers['content-length']).toBe(String(end - start + 1))
      expect(res.rawPayload.equals(full.subarray(start, end + 1))).toBe(true)
    }
  })

  it('answers an unsatisfiable range with 416, Content-Range bytes */size and {code, message}', async () => {
    const t = await testApp()
    const size = (await t.app.inject({ method: 'GET', url: hello })).rawPayload.length
    const res = await t.app.inject({ method: 'GET', url: hello, headers: { range: `bytes=${size}-` } })
    expect(res.statusCode).toBe(416)
    expect(res.headers['content-range']).toBe(`bytes */${size}`)
    expect(res.json()).toEqual({ code: 'TTS_ERR_RANGE_NOT_SATISFIABLE', message: expect.any(String) })
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers.etag).toBeUndefined()
  })

  it('sends the whole file for a multi-range, malformed range, or an If-Range that does not match', async () => {
    const t = await testApp()
    const full = (await t.app.inject({ method: 'GET', url: hello })).rawPayload
    for (const headers of [{ range: 'bytes=0-1,5-9' }, { range: 'lines=1-2' }, { range: 'bytes=9-2' }, { range: 'bytes=0-9', 'if-range': '"not-the-key"' }]) {
      const res = await t.app.inject({ method: 'GET', url: hello, headers })
      expect(res.statusCode, JSON.stringify(headers)).toBe(200)
      expect(res.rawPayload.equals(full)).toBe(true)
    }
  })

  it('renders once for concurrent requests: one "rendered", the others "coalesced"', async () => {
    const t = await testApp()
    t.renderer.hold()
    const a = t.app.inject({ method: 'GET', url: hello })
    await t.renderer.waitForStarted(1)
    const b = t.app.inject({ method: 'GET', url: hello })
    const c = t.app.inject({ method: 'GET', url: hello })
    // Both joined the render in flight (the coalesced counter says so), then let it finish.
    await eventually(async () => ((await t.metrics.text()).includes('tts_coalesced_waiters_total{source="http"} 2') ? true : undefined))
    t.renderer.release()
    const statuses = (await Promise.all([a, b, c])).map((r) => [r.statusCode, r.headers['x-tts-cache']])
    expect(statuses).toEqual([
      [200, 'rendered'],
      [200, 'coalesced'],
      [200, 'coalesced'],
    ])
    expect(t.renderer.started).toHaveLength(1)
  })

  it('re-renders and replaces the entry with refresh=true and the token', async () => {
    const t = await testApp()
    const first = await t.app.inject({ method: 'GET', url: hello })
    const refreshed = await t.app.inject({ method: 'GET', url: `${hello}&refresh=true`, headers: auth })
    expect(refreshed.statusCode).toBe(200)
    expect(refreshed.headers['x-tts-cache']).toBe('rendered')
    expect(refreshed.headers.etag).toBe(first.headers.etag)
    expect(t.renderer.started).toHaveLength(2)
    // A refresh ignores If-None-Match: the caller wants the new bytes.
    const conditional = await t.app.inject({
      method: 'GET',
      url: `${hello}&refresh=true`,
      headers: { ...auth, 'if-none-match': String(first.headers.etag) },
    })
    expect(conditional.statusCode).toBe(200)
    expect((await t.app.inject({ method: 'GET', url: hello })).headers['x-tts-cache']).toBe('hit')
  })

  it('refuses refresh=true without the token (401) and renders nothing', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: `${hello}&refresh=true` })
    expect(res.statusCode).toBe(401)
    expect(res.json()).toMatchObject({ code: 'TTS_ERR_UNAUTHORIZED' })
    expect(t.renderer.started).toHaveLength(0)
    expect((await t.app.inject({ method: 'GET', url: `${hello}&refresh=false` })).statusCode).toBe(200)
  })

  it('renders again when the cached file vanished after the lookup (streaming from disk)', async () => {
    const t = await testApp({ config: { httpHotBytes: 0 } })
    const first = await t.app.inject({ method: 'GET', url: hello })
    const key = String(first.headers.etag).slice(1, -1)
    const { unlink } = await import('node:fs/promises')
    await unlink(t.store.pathFor(key))
    const again = await t.app.inject({ method: 'GET', url: hello })
    expect(again.statusCode).toBe(200)
    expect(again.rawPayload.equals(first.rawPayload)).toBe(true)
    expect(t.renderer.started).toHaveLength(2)
  })

  it('serves a hot file from memory, and never a stale copy after a deletion, a refresh or a purge', async () => {
    const t = await testApp()
    const first = await t.app.inject({ method: 'GET', url: hello })
    const key = String(first.headers.etag).slice(1, -1)
    const { readFile, unlink } = await import('node:fs/promises')
    const hot = await t.app.inject({ method: 'GET', url: hello, headers: { range: 'bytes=0-3' } })
    expect(hot.statusCode).toBe(206)
    expect(hot.headers['x-tts-cache']).toBe('hit')
    expect(hot.rawPayload.toString('latin1')).toBe('RIFF')
    expect(t.renderer.started).toHaveLength(1)
    // A file removed behind the store's back: the copy in memory is not served, it is rendered again.
    await unlink(t.store.pathFor(key))
    const gone = await t.app.inject({ method: 'GET', url: hello })
    expect(gone.headers['x-tts-cache']).toBe('rendered')
    expect(gone.rawPayload.equals(first.rawPayload)).toBe(true)
    expect(t.renderer.started).toHaveLength(2)
    // A refresh (POST: it serves no bytes) commits a new file under the same key. Mark that file
    // (the store itself never rewrites in place) so old and new bytes differ: the next GET must
    // read it, not the copy in memory from before the refresh.
    expect((await t.app.inject({ method: 'POST', url: '/v1/tts?refresh=true', payload: { text: 'Hello caller' }, headers: auth })).statusCode).toBe(200)
    const path = t.store.pathFor(key)
    const marked = Buffer.from(await readFile(path))
    marked[marked.length - 1] = (marked[marked.length - 1] ?? 0) ^ 0xff
    const { writeFile } = await import('node:fs/promises')
    await writeFile(path, marked)
    const after = await t.app.inject({ method: 'GET', url: hello })
    expect(after.rawPayload.equals(marked)).toBe(true)
    expect(after.rawPayload.equals(first.rawPayload)).toBe(false)
    expect(t.renderer.started).toHaveLength(3)
    // A purge drops the entry: the next request renders again.
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/cache/${key}`, headers: auth })).statusCode).toBeLessThan(300)
    expect((await t.app.inject({ method: 'GET', url: hello })).headers['x-tts-cache']).toBe('rendered')
    expect(t.renderer.started).toHaveLength(4)
  })

  it('maps a render failure to its registry status and code', async () => {
    const t = await testApp()
    const { TtsError } = await import('../../src/core/errors.js')
    t.renderer.failNext(new TtsError('TTS_ERR_RENDER_FAILED', { args: ['espeak-ng', 'exit code 1'] }))
    const res = await t.app.inject({ method: 'GET', url: hello })
    expect(res.statusCode).toBe(502)
    expect(res.json()).toEqual({ code: 'TTS_ERR_RENDER_FAILED', message: 'engine espeak-ng failed: exit code 1' })
  })
})

describe('POST /v1/tts', () => {
  it('answers {key, path, url, status, bytes, durationMs}', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'Hello caller', rate: 16000 } })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toEqual({
      key: expect.stringMatching(/^[0-9a-f]{64}$/),
      path: t.store.pathFor(body.key),
      url: `http://localhost:80/v1/audio/${body.key}.wav`,
      status: 'rendered',
      bytes: expect.any(Number),
      durationMs: expect.any(Number),
    })
    expect(body.path.startsWith(t.cacheDir)).toBe(true)
    const again = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'Hello  caller', rate: 16000 } })
    expect(again.json()).toMatchObject({ key: body.key, status: 'hit' })
  })

  it('builds the url from TTS_PUBLIC_URL when set', async () => {
    const t = await testApp({ config: { publicUrl: 'https://tts.example.net/' } })
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'x' } })
    expect(res.json().url).toBe(`https://tts.example.net/v1/audio/${res.json().key}.wav`)
  })

  it('is the same entry as GET for the same phrase', async () => {
    const t = await testApp()
    const post = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'Hello caller' } })
    const get = await t.app.inject({ method: 'GET', url: hello })
    expect(get.headers.etag).toBe(`"${post.json().key}"`)
    expect(get.headers['x-tts-cache']).toBe('hit')
  })

  it('re-renders with ?refresh=true only with the token', async () => {
    const t = await testApp()
    await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'x' } })
    expect((await t.app.inject({ method: 'POST', url: '/v1/tts?refresh=true', payload: { text: 'x' } })).statusCode).toBe(401)
    const ok = await t.app.inject({ method: 'POST', url: '/v1/tts?refresh=true', payload: { text: 'x' }, headers: auth })
    expect(ok.json()).toMatchObject({ status: 'rendered' })
    expect(t.renderer.started).toHaveLength(2)
  })
})
