import { describe, expect, it } from 'vitest'
import type { TestHttpApp } from '../harness/http/test-app.js'
import { auth, eventually, testApp } from '../harness/http/test-apps.js'

async function finished(t: TestHttpApp, id: string): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const body = (await t.app.inject({ method: 'GET', url: `/v1/prewarm/${id}` })).json()
    return body.state === 'running' ? undefined : body
  })
}

describe('POST /v1/prewarm', () => {
  it('accepts JSON items, answers 202 {id, total, cached, queued, rejected} and renders in the background', async () => {
    const t = await testApp()
    await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'Welcome' } })
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/prewarm',
      headers: auth,
      payload: {
        items: [
          { text: 'Welcome' },
          { text: 'Press one for sales', voice: 'en', rate: 16000, pin: true },
          { text: '   ' },
          { text: 'Press two', voice: '../../etc/passwd' },
          { text: 'Press three', engine: 'nope' },
          { text: 'Press four', voice: 'klingon' },
        ],
      },
    })
    expect(res.statusCode).toBe(202)
    const body = res.json()
    expect(body).toEqual({
      id: expect.any(String),
      total: 6,
      cached: 1,
      queued: 1,
      rejected: [
        { index: 2, code: 'TTS_ERR_TEXT_EMPTY', message: expect.any(String) },
        { index: 3, code: 'TTS_ERR_INVALID_VOICE', message: expect.any(String) },
        { index: 4, code: 'TTS_ERR_UNKNOWN_ENGINE', message: expect.any(String) },
        { index: 5, code: 'TTS_ERR_UNKNOWN_VOICE', message: expect.any(String) },
      ],
    })
    expect(res.headers.location).toBe(`/v1/prewarm/${body.id}`)
    expect(await finished(t, body.id)).toMatchObject({ state: 'done', total: 6, done: 2, failed: 4, cached: 1, rendered: 1, finishedAt: expect.any(Number) })
    const post = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'Press one for sales', voice: 'en', rate: 16000 } })
    expect(post.json().status).toBe('hit')
    expect((await t.app.inject({ method: 'GET', url: `/v1/cache/${post.json().key}` })).json().pinned).toBe(true)
    expect(t.renderer.started.every((j, i) => i === 0 || j.request.text === 'Press one for sales')).toBe(true)
  })

  it('accepts text/plain, one phrase per line, with voice/engine/rate/pin from the query', async () => {
    const t = await testApp()
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/prewarm?voice=fr&rate=16000&pin=true',
      headers: { ...auth, 'content-type': 'text/plain; charset=utf-8' },
      payload: 'Bonjour\r\n\r\nAu revoir\n',
    })
    expect(res.statusCode).toBe(202)
    expect(res.json()).toMatchObject({ total: 2, cached: 0, queued: 2, rejected: [] })
    expect(await finished(t, res.json().id)).toMatchObject({ state: 'done', done: 2, failed: 0 })
    expect(t.renderer.started.map((j) => [j.request.text, j.request.voice, j.request.sampleRate]).sort()).toEqual([
      ['Au revoir', 'fr', 16000],
      ['Bonjour', 'fr', 16000],
    ])
    expect([...t.store.entries()].every((e) => e.pinned)).toBe(true)
  })

  it('reads text/plain as the one phrase-list format: # comments skipped, JSON lines with their own fields (issue 20)', async () => {
    // Before: every line was a phrase, so the comment and the literal {"text":…} were cached as speech.
    const t = await testApp()
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/prewarm?voice=fr',
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: '# the menu\nBonjour\n\n{"text": "Au revoir", "voice": "en", "rate": 16000, "pin": true}\n',
    })
    expect(res.statusCode).toBe(202)
    expect(res.json()).toMatchObject({ total: 2, queued: 2, rejected: [] })
    await finished(t, res.json().id)
    expect(t.renderer.started.map((j) => [j.request.text, j.request.voice, j.request.sampleRate]).sort()).toEqual([
      ['Au revoir', 'en', 16000],
      ['Bonjour', 'fr', 8000],
    ])
    expect([...t.store.entries()].map((e) => [e.voice, e.pinned]).sort()).toEqual([
      ['en', true],
      ['fr', false],
    ])
  })

  it('refuses a text/plain list with an unreadable JSON line with 400 naming the line', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'Hello\n{"text": "x", "pinn": true}\n{"text": \n' })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ code: 'TTS_ERR_BAD_REQUEST', message: expect.stringMatching(/line 2: unknown field "pinn" \(did you mean "pin"\?\).*line 3: invalid JSON/) })
    expect(t.renderer.started).toHaveLength(0)
  })

  it('refuses unknown query parameters with 400 naming them and a suggestion (issue 20: ?pinn=true was ignored)', async () => {
    const t = await testApp()
    for (const [type, payload] of [
      ['text/plain', 'Hello'],
      ['application/json', '{"items":[{"text":"Hello"}]}'],
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/prewarm?pinn=true', headers: { ...auth, 'content-type': type }, payload })
      expect(res.statusCode, type).toBe(400)
      expect(res.json()).toEqual({ code: 'TTS_ERR_BAD_REQUEST', message: expect.stringContaining('unknown query parameter "pinn" (did you mean "pin"?)') })
    }
    const far = await t.app.inject({ method: 'POST', url: '/v1/prewarm?colour=red', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'Hello' })
    expect(far.json().message).toContain('unknown query parameter "colour" (known: voice, engine, rate, pin)')
    expect(t.renderer.started).toHaveLength(0)
  })

  it('applies ?voice= (and engine, rate, pin) as the default of JSON items too, an item\'s own value winning (issue 20: ignored)', async () => {
    const t = await testApp()
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/prewarm?voice=fr&pin=true',
      headers: auth,
      payload: { items: [{ text: 'Bonjour' }, { text: 'Hello', voice: 'en', pin: false }] },
    })
    expect(res.statusCode).toBe(202)
    await finished(t, res.json().id)
    expect(t.renderer.started.map((j) => [j.request.text, j.request.voice]).sort()).toEqual([
      ['Bonjour', 'fr'],
      ['Hello', 'en'],
    ])
    expect([...t.store.entries()].map((e) => [e.voice, e.pinned]).sort()).toEqual([
      ['en', false],
      ['fr', true],
    ])
  })

  it('refuses a ?voice=, ?engine= or ?rate= the service cannot use with 400, not 202 with every line rejected (issue 20)', async () => {
    const t = await testApp()
    const cases: [string, string][] = [
      ['voice=klingon', 'TTS_ERR_UNKNOWN_VOICE'],
      ['voice=../x', 'TTS_ERR_INVALID_VOICE'],
      ['engine=nope', 'TTS_ERR_UNKNOWN_ENGINE'],
      ['rate=12345', 'TTS_ERR_INVALID_RATE'],
    ]
    for (const [query, code] of cases) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/prewarm?${query}`, headers: { ...auth, 'content-type': 'text/plain' }, payload: 'Hello\nGoodbye' })
      expect(res.statusCode, query).toBe(400)
      expect(res.json(), query).toEqual({ code, message: expect.stringContaining(`query ${query}:`) })
    }
    expect(t.renderer.started).toHaveLength(0)
  })

  it('is idempotent: submitting the same batch again renders nothing', async () => {
    const t = await testApp()
    const payload = { items: [{ text: 'one' }, { text: 'two' }, { text: 'one' }] }
    const first = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: auth, payload })
    await finished(t, first.json().id)
    expect(t.renderer.started).toHaveLength(2)
    const second = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: auth, payload })
    expect(second.json()).toMatchObject({ total: 3, cached: 3, queued: 0 })
    expect(await finished(t, second.json().id)).toMatchObject({ state: 'done', done: 3 })
    expect(t.renderer.started).toHaveLength(2)
  })

  it('refuses more than TTS_PREWARM_MAX_ITEMS items with 413, and an empty batch with 400', async () => {
    const t = await testApp({ config: { prewarmMaxItems: 3 } })
    const tooMany = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: auth, payload: { items: [{ text: 'a' }, { text: 'b' }, { text: 'c' }, { text: 'd' }] } })
    expect(tooMany.statusCode).toBe(413)
    expect(tooMany.json()).toEqual({ code: 'TTS_ERR_PAYLOAD_TOO_LARGE', message: expect.stringContaining('at most 3') })
    const lines = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'a\nb\nc\nd' })
    expect(lines.statusCode).toBe(413)
    const empties: [string, string][] = [
      ['application/json', '{"items":[]}'],
      ['text/plain', '\n \n'],
    ]
    for (const [type, payload] of empties) {
      const empty = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: { ...auth, 'content-type': type }, payload })
      expect(empty.statusCode, type).toBe(400)
      expect(empty.json()).toMatchObject({ code: 'TTS_ERR_BAD_REQUEST' })
    }
    expect(t.renderer.started).toHaveLength(0)
  })

  it('refuses a structurally invalid body with 400 naming the field', async () => {
    const t = await testApp()
    for (const payload of [{}, { items: 'x' }, { items: [{ voice: 'en' }] }, { items: [{ text: ['a', 'b'] }] }]) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: auth, payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
      expect(res.json()).toEqual({ code: 'TTS_ERR_BAD_REQUEST', message: expect.stringMatching(/body/) })
    }
  })

  it('refuses other content types with 415', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'text=a' })
    expect(res.statusCode).toBe(415)
    expect(res.json()).toMatchObject({ code: 'TTS_ERR_UNSUPPORTED_MEDIA_TYPE' })
  })

  it('needs the token, and says TTS_API_TOKEN is not set when no token is configured', async () => {
    const t = await testApp()
    const missing = await t.app.inject({ method: 'POST', url: '/v1/prewarm', payload: { items: [{ text: 'a' }] } })
    expect(missing.statusCode).toBe(401)
    const none = await testApp({ config: { apiToken: undefined } })
    const refused = await none.app.inject({ method: 'POST', url: '/v1/prewarm', headers: auth, payload: { items: [{ text: 'a' }] } })
    expect(refused.statusCode).toBe(401)
    expect(refused.json()).toEqual({ code: 'TTS_ERR_UNAUTHORIZED', message: expect.stringContaining('TTS_API_TOKEN') })
    expect(t.renderer.started).toHaveLength(0)
    expect(none.renderer.started).toHaveLength(0)
  })

  it('runs below live calls: with a tiny queue full of pre-warm work, a live call is not refused', async () => {
    // One worker, room for 4 waiting jobs. Pre-warm may only use half of the queue.
    const t = await testApp({ config: { renderConcurrency: 1, queueLimit: 4 } })
    t.renderer.hold()
    const batch = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: auth, payload: { items: Array.from({ length: 40 }, (_, i) => ({ text: `prompt ${i}` })) } })
    expect(batch.statusCode).toBe(202)
    await t.renderer.waitForStarted(1)
    expect(t.ctx.queue.stats().waiting).toBeLessThanOrEqual(2)
    const live = [1, 2].map((i) => t.app.inject({ method: 'GET', url: `/v1/tts?text=live%20${i}` }))
    await eventually(() => (t.ctx.queue.stats().waiting >= 2 ? true : undefined))
    t.renderer.release()
    const results = await Promise.all(live)
    expect(results.map((r) => r.statusCode)).toEqual([200, 200])
    expect(await finished(t, batch.json().id)).toMatchObject({ state: 'done', done: 40, failed: 0 })
    // The live calls jumped ahead of the pre-warm work still waiting.
    const order = t.renderer.started.map((j) => j.request.text)
    expect(order.indexOf('live 1')).toBeGreaterThan(0)
    expect(order.indexOf('live 1')).toBeLessThan(order.indexOf('prompt 39'))
  })
})

describe('GET /v1/prewarm/:id', () => {
  it('reports progress {total, done, failed, cached, state} while running and when done', async () => {
    const t = await testApp({ config: { renderConcurrency: 1 } })
    t.renderer.hold()
    const res = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: auth, payload: { items: [{ text: 'a' }, { text: 'b' }] } })
    await t.renderer.waitForStarted(1)
    const running = (await t.app.inject({ method: 'GET', url: `/v1/prewarm/${res.json().id}` })).json()
    expect(running).toMatchObject({ id: res.json().id, state: 'running', total: 2, done: 0, failed: 0, cached: 0, finishedAt: null })
    t.renderer.release()
    expect(await finished(t, res.json().id)).toMatchObject({ state: 'done', total: 2, done: 2, failed: 0, errors: [] })
  })

  it('answers 404 for an unknown batch', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: '/v1/prewarm/no-such-batch' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ code: 'TTS_ERR_NOT_FOUND' })
  })
})
