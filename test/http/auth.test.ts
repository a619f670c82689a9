import { describe, expect, it } from 'vitest'
import { auth, TEST_TOKEN, testApp } from '../harness/http/test-apps.js'

const protectedRequests = [
  { method: 'POST', url: '/v1/prewarm', payload: { items: [{ text: 'a' }] } },
  { method: 'DELETE', url: `/v1/cache/${'a'.repeat(64)}` },
  { method: 'DELETE', url: '/v1/cache?voice=en' },
  { method: 'GET', url: '/v1/tts?text=a&refresh=true' },
  { method: 'POST', url: '/v1/tts?refresh=true', payload: { text: 'a' } },
] as const

describe('bearer-token auth', () => {
  it.each(protectedRequests)('refuses $method $url without a token, with 401 and WWW-Authenticate', async (req) => {
    const t = await testApp()
    const res = await t.app.inject(req)
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="tts-cache"')
    expect(res.json()).toEqual({ code: 'TTS_ERR_UNAUTHORIZED', message: expect.stringContaining('bearer token is required') })
  })

  it.each([
    ['a wrong token', 'Bearer nope'],
    ['a token one character longer', `Bearer ${TEST_TOKEN}x`],
    ['a prefix of the token', `Bearer ${TEST_TOKEN.slice(0, -1)}`],
    ['another scheme', `Basic ${Buffer.from(`u:${TEST_TOKEN}`).toString('base64')}`],
    ['an empty bearer', 'Bearer '],
  ])('refuses %s', async (_name, authorization) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/cache?voice=en', headers: { authorization } })
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('TTS_ERR_UNAUTHORIZED')
  })

  it('accepts the right token (scheme case-insensitive)', async () => {
    const t = await testApp()
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/cache?voice=en', headers: auth })).statusCode).toBe(200)
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/cache?voice=en', headers: { authorization: `bearer ${TEST_TOKEN}` } })).statusCode).toBe(200)
  })

  it('leaves reads open by default', async () => {
    const t = await testApp()
    for (const url of ['/v1/tts?text=a', '/healthz', '/readyz', '/metrics', `/v1/cache/${'a'.repeat(64)}`, '/docs/json']) {
      expect((await t.app.inject({ method: 'GET', url })).statusCode, url).not.toBe(401)
    }
  })

  it('refuses every state-changing request when no token is configured, saying TTS_API_TOKEN is not set', async () => {
    const t = await testApp({ config: { apiToken: undefined } })
    for (const req of protectedRequests) {
      const res = await t.app.inject({ ...req, headers: auth })
      expect(res.statusCode, `${req.method} ${req.url}`).toBe(401)
      expect(res.json()).toEqual({
        code: 'TTS_ERR_UNAUTHORIZED',
        message: 'this request needs a bearer token, but the server has no token configured (set TTS_API_TOKEN)',
      })
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/tts?text=a' })).statusCode).toBe(200)
  })

  it('with authAllRoutes, protects every route but /healthz', async () => {
    const t = await testApp({ config: { authAllRoutes: true } })
    for (const url of ['/v1/tts?text=a', `/v1/audio/${'a'.repeat(64)}.wav`, '/readyz', '/metrics', `/v1/cache/${'a'.repeat(64)}`, '/v1/prewarm/x', '/docs/json']) {
      const res = await t.app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(401)
      expect(res.json().code).toBe('TTS_ERR_UNAUTHORIZED')
    }
    expect((await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'a' } })).statusCode).toBe(401)
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
    expect((await t.app.inject({ method: 'GET', url: '/v1/tts?text=a', headers: auth })).statusCode).toBe(200)
    expect((await t.app.inject({ method: 'GET', url: '/metrics', headers: auth })).statusCode).toBe(200)
    expect(t.renderer.started).toHaveLength(1)
  })

  it('checks the token before reading the body', async () => {
    const t = await testApp({ config: { bodyLimitBytes: 100 } })
    const res = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(1000) })
    expect(res.statusCode).toBe(401)
  })

  it('never writes the token to the log', async () => {
    const t = await testApp()
    await t.app.inject({ method: 'DELETE', url: '/v1/cache?voice=en', headers: auth })
    await t.app.inject({ method: 'DELETE', url: '/v1/cache?voice=en', headers: { authorization: `Bearer ${TEST_TOKEN}-wrong` } })
    await t.app.inject({ method: 'GET', url: '/v1/tts?text=a&refresh=true', headers: auth })
    // Even if some code logged the request headers, the redaction censors them.
    t.app.log.info({ headers: { authorization: `Bearer ${TEST_TOKEN}` } }, 'headers')
    t.app.log.info({ req: { headers: { authorization: `Bearer ${TEST_TOKEN}` } } }, 'request')
    t.app.log.info({ config: { apiToken: TEST_TOKEN, fsEslPassword: 'ClueCon-secret' } }, 'config')
    expect(t.logs.text).not.toContain('ClueCon-secret')
    expect(t.logs.lines.length).toBeGreaterThan(5)
    expect(t.logs.text).not.toContain(TEST_TOKEN)
    expect(t.logs.text).toContain('[redacted]')
  })
})
