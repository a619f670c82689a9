import { copyFile, mkdir, truncate, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildTestContext } from '../harness/http/test-app.js'
import { testApp } from '../harness/http/test-apps.js'

async function cachedKey(t: Awaited<ReturnType<typeof testApp>>, text = 'Press one'): Promise<{ key: string; bytes: Buffer }> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text } })
  const key: string = res.json().key
  const audio = await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav` })
  return { key, bytes: audio.rawPayload }
}

describe('GET /v1/audio/<key>.wav', () => {
  it('serves a cached WAV by key with the audio headers', async () => {
    const t = await testApp()
    const post = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'Press one' } })
    const { key, bytes } = post.json() as { key: string; bytes: number }
    const res = await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav` })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('audio/wav')
    expect(res.headers.etag).toBe(`"${key}"`)
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(res.headers['x-tts-cache']).toBe('hit')
    expect(res.rawPayload.length).toBe(bytes)
    expect(t.renderer.started).toHaveLength(1)
  })

  it('supports HEAD, If-None-Match and Range', async () => {
    const t = await testApp()
    const { key, bytes } = await cachedKey(t)
    const head = await t.app.inject({ method: 'HEAD', url: `/v1/audio/${key}.wav` })
    expect(head.statusCode).toBe(200)
    expect(head.headers['content-length']).toBe(String(bytes.length))
    expect(head.rawPayload.length).toBe(0)
    const notModified = await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav`, headers: { 'if-none-match': `"${key}"` } })
    expect(notModified.statusCode).toBe(304)
    const partial = await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav`, headers: { range: 'bytes=0-11' } })
    expect(partial.statusCode).toBe(206)
    expect(partial.rawPayload.toString('ascii', 0, 4)).toBe('RIFF')
    expect(partial.rawPayload.equals(bytes.subarray(0, 12))).toBe(true)
  })

  it('answers 404 {code: TTS_ERR_NOT_FOUND} for a key that is not cached, and never renders', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: `/v1/audio/${'b'.repeat(64)}.wav` })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ code: 'TTS_ERR_NOT_FOUND', message: `audio ${'b'.repeat(64)}.wav not found` })
    expect((await t.app.inject({ method: 'HEAD', url: `/v1/audio/${'b'.repeat(64)}.wav` })).statusCode).toBe(404)
    expect(t.renderer.started).toHaveLength(0)
  })

  it('answers 404 after the entry is purged', async () => {
    const t = await testApp()
    const { key } = await cachedKey(t)
    await t.store.remove(key)
    expect((await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav` })).statusCode).toBe(404)
  })

  it('serves a WAV another process published in the cache directory (not yet in this index)', async () => {
    const t = await testApp()
    const { bytes } = await cachedKey(t)
    // Another app (buildApp: its own store) on the same directory publishes a key this one never saw (WAV + sidecar).
    const peer = await buildTestContext({ config: { cacheDir: t.cacheDir } })
    const other = 'c'.repeat(64)
    const claim = await peer.store.claim(other)
    if (claim.state !== 'owned') throw new Error(`expected to own ${other}`)
    await writeFile(claim.slot.tempPath, bytes)
    await claim.slot.commit({ text: 'from a peer', voice: '', engine: 'espeak-ng', engineVersion: 'fake-1', sampleRate: 8000, format: 'wav-pcm16-mono', pinned: false }, { bytes: bytes.length, durationMs: 0 })
    await claim.slot.release()
    await peer.closeContext()
    expect(t.store.peek(other)).toBeUndefined()
    const res = await t.app.inject({ method: 'GET', url: `/v1/audio/${other}.wav` })
    expect(res.statusCode).toBe(200)
    expect(res.headers.etag).toBe(`"${other}"`)
    expect(res.rawPayload.equals(bytes)).toBe(true)
    expect(t.store.peek(other)).toMatchObject({ key: other, bytes: bytes.length })
  })

  it('answers 404 for a file without its sidecar or cut short: never serves what the store would not index', async () => {
    const t = await testApp()
    const { key, bytes } = await cachedKey(t)
    const other = 'c'.repeat(64)
    await mkdir(dirname(t.store.pathFor(other)), { recursive: true })
    await copyFile(t.store.pathFor(key), t.store.pathFor(other))
    expect((await t.app.inject({ method: 'GET', url: `/v1/audio/${other}.wav` })).statusCode).toBe(404)
    await truncate(t.store.pathFor(key), bytes.length - 100)
    const cut = await t.app.inject({ method: 'GET', url: `/v1/audio/${key}.wav` })
    expect(cut.statusCode).toBe(404)
    expect(cut.json()).toMatchObject({ code: 'TTS_ERR_NOT_FOUND' })
  })

  it.each([
    ['an upper-case key', `${'A'.repeat(64)}.wav`],
    ['a short key', 'abc.wav'],
    ['no extension', 'a'.repeat(64)],
    ['another extension', `${'a'.repeat(64)}.mp3`],
    ['a traversal', '..%2F..%2Fetc%2Fpasswd'],
    ['an encoded NUL', `${'a'.repeat(64)}%00.wav`],
  ])('refuses %s with 400 TTS_ERR_INVALID_KEY', async (_name, file) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: `/v1/audio/${file}` })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'TTS_ERR_INVALID_KEY' })
  })
})
