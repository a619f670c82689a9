import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { auth, testApp } from '../harness/http/test-apps.js'

async function put(t: Awaited<ReturnType<typeof testApp>>, text: string, voice?: string, engine?: string): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text, voice, engine } })
  expect(res.statusCode).toBe(200)
  return res.json().key
}

describe('GET /v1/cache/:key', () => {
  it('returns the sidecar metadata with the path and URL', async () => {
    const t = await testApp()
    const key = await put(t, 'Your call is important', 'en')
    const res = await t.app.inject({ method: 'GET', url: `/v1/cache/${key}` })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      key,
      text: 'Your call is important',
      voice: 'en',
      engine: 'espeak-ng',
      engineVersion: 'fake-1',
      sampleRate: 8000,
      format: 'wav-pcm16-mono',
      bytes: expect.any(Number),
      durationMs: expect.any(Number),
      createdAt: expect.any(Number),
      pinned: false,
      path: t.store.pathFor(key),
      url: `http://localhost:80/v1/audio/${key}.wav`,
    })
  })

  it('answers 404 for an absent key and 400 for something that is not a key', async () => {
    const t = await testApp()
    expect((await t.app.inject({ method: 'GET', url: `/v1/cache/${'d'.repeat(64)}` })).json()).toMatchObject({ code: 'TTS_ERR_NOT_FOUND' })
    const bad = await t.app.inject({ method: 'GET', url: '/v1/cache/..%2F..%2Fetc' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ code: 'TTS_ERR_INVALID_KEY' })
  })
})

describe('DELETE /v1/cache/:key', () => {
  it('purges one entry (token required); a later request renders it again', async () => {
    const t = await testApp()
    const key = await put(t, 'Goodbye')
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/cache/${key}` })).statusCode).toBe(401)
    expect(existsSync(t.store.pathFor(key))).toBe(true)
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/cache/${key}`, headers: auth })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ removed: 1 })
    expect(existsSync(t.store.pathFor(key))).toBe(false)
    expect((await t.app.inject({ method: 'GET', url: `/v1/cache/${key}` })).statusCode).toBe(404)
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/cache/${key}`, headers: auth })).statusCode).toBe(404)
    expect((await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'Goodbye' } })).json().status).toBe('rendered')
  })

  it('answers 400 for a bad key', async () => {
    const t = await testApp()
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/cache/nope', headers: auth })).json()).toMatchObject({ code: 'TTS_ERR_INVALID_KEY' })
  })
})

describe('DELETE /v1/cache', () => {
  it('purges by voice, by engine, or by both', async () => {
    const t = await testApp()
    const enA = await put(t, 'a', 'en')
    const frA = await put(t, 'a', 'fr')
    const fliteA = await put(t, 'a', 'en', 'flite')
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/cache?voice=fr', headers: auth })
    expect(res.json()).toEqual({ dryRun: false, removed: 1, keptPinned: 0 })
    expect(t.store.peek(frA)).toBeUndefined()
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/cache?voice=en&engine=flite', headers: auth })).json()).toEqual({ dryRun: false, removed: 1, keptPinned: 0 })
    expect(t.store.peek(fliteA)).toBeUndefined()
    expect(t.store.peek(enA)).toBeDefined()
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/cache?engine=espeak-ng', headers: auth })).json()).toEqual({ dryRun: false, removed: 1, keptPinned: 0 })
    expect(t.store.stats().entries).toBe(0)
  })

  it('refuses to purge everything without an explicit all=true', async () => {
    const t = await testApp()
    await put(t, 'a')
    await put(t, 'b')
    for (const url of ['/v1/cache', '/v1/cache?voice=', '/v1/cache?all=false']) {
      const res = await t.app.inject({ method: 'DELETE', url, headers: auth })
      expect(res.statusCode, url).toBe(400)
      expect(res.json()).toMatchObject({ code: 'TTS_ERR_BAD_REQUEST', message: expect.stringContaining('all=true') })
    }
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/cache?all=true&voice=en', headers: auth })).statusCode).toBe(400)
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/cache?all=yes', headers: auth })).statusCode).toBe(400)
    expect(t.store.stats().entries).toBe(2)
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/cache?all=true', headers: auth })).json()).toEqual({ dryRun: false, removed: 2, keptPinned: 0 })
    expect(t.store.stats().entries).toBe(0)
  })

  it('dry_run=true answers the counts and removes nothing', async () => {
    const t = await testApp()
    const a = await put(t, 'a', 'en-us')
    const pinned = await put(t, 'b', 'en-us')
    await t.store.pin(pinned)
    const other = await put(t, 'c', 'fr')
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/cache?voice=en-us&dry_run=true', headers: auth })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ dryRun: true, removed: 0, wouldRemove: 1, keptPinned: 1 })
    const everything = await t.app.inject({ method: 'DELETE', url: '/v1/cache?all=true&include_pinned=true&dry_run=true', headers: auth })
    expect(everything.json()).toEqual({ dryRun: true, removed: 0, wouldRemove: 3, keptPinned: 0 })
    for (const key of [a, pinned, other]) expect(existsSync(t.store.pathFor(key)), key).toBe(true)
    expect(t.store.stats().entries).toBe(3)
  })

  it('keeps pinned entries unless include_pinned=true, and counts them', async () => {
    const t = await testApp()
    const a = await put(t, 'a', 'en')
    const pinned = await put(t, 'b', 'en')
    await t.store.pin(pinned)
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/cache?voice=en', headers: auth })).json()).toEqual({ dryRun: false, removed: 1, keptPinned: 1 })
    expect(existsSync(t.store.pathFor(a))).toBe(false)
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/cache?all=true', headers: auth })).json()).toEqual({ dryRun: false, removed: 0, keptPinned: 1 })
    expect(existsSync(t.store.pathFor(pinned))).toBe(true)
    expect(t.store.peek(pinned)?.pinned).toBe(true)
    const all = await t.app.inject({ method: 'DELETE', url: '/v1/cache?all=true&include_pinned=true', headers: auth })
    expect(all.json()).toEqual({ dryRun: false, removed: 1, keptPinned: 0 })
    expect(existsSync(t.store.pathFor(pinned))).toBe(false)
  })

  it.each([
    ['a mistyped dry_run', '/v1/cache?voice=en&dry_rn=true', 'unknown query parameter ("dry_rn")'],
    ['an unknown parameter beside all=true', '/v1/cache?all=true&pinned=false', 'unknown query parameter ("pinned")'],
    ['an empty voice beside all=true', '/v1/cache?all=true&voice=', 'voice is empty'],
    ['an empty engine beside a voice', '/v1/cache?voice=en&engine=', 'engine is empty'],
    ['all=1', '/v1/cache?all=1', 'all must be true or false'],
    ['dry_run=1', '/v1/cache?voice=en&dry_run=1', 'dry_run must be true or false'],
    ['a repeated voice', '/v1/cache?voice=en&voice=fr', 'voice must be given once'],
  ])('refuses %s with a 400 naming it, removing nothing', async (_name, url, message) => {
    const t = await testApp()
    const key = await put(t, 'a', 'en')
    const res = await t.app.inject({ method: 'DELETE', url, headers: auth })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'TTS_ERR_BAD_REQUEST', message: expect.stringContaining(message) })
    expect(existsSync(t.store.pathFor(key))).toBe(true)
    expect(t.store.stats().entries).toBe(1)
  })

  it('needs the token', async () => {
    const t = await testApp()
    await put(t, 'a')
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/cache?all=true' })
    expect(res.statusCode).toBe(401)
    expect(t.store.stats().entries).toBe(1)
  })
})
