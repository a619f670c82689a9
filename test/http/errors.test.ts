import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../src/core/errors.js'
import { auth, testApp } from '../harness/http/test-apps.js'

function expectError(res: { statusCode: number; json(): unknown; headers: Record<string, unknown> }, status: number, code: string): void {
  expect(res.statusCode).toBe(status)
  const body = res.json() as { code: string; message: string }
  expect(Object.keys(body).sort()).toEqual(['code', 'message'])
  expect(body.code).toBe(code)
  expect(ERROR_CODES[code as keyof typeof ERROR_CODES].status).toBe(status)
  expect(body.message.length).toBeGreaterThan(0)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  expect(res.headers['cache-control']).toBe('no-store')
}

describe('error responses', () => {
  it('answers an unknown route with 404 TTS_ERR_NOT_FOUND', async () => {
    const t = await testApp()
    expectError(await t.app.inject({ method: 'GET', url: '/v2/whatever' }), 404, 'TTS_ERR_NOT_FOUND')
    expectError(await t.app.inject({ method: 'PUT', url: '/v1/tts' }), 404, 'TTS_ERR_NOT_FOUND')
  })

  it('maps schema validation failures to 400 TTS_ERR_BAD_REQUEST naming the field', async () => {
    const t = await testApp()
    const missing = await t.app.inject({ method: 'GET', url: '/v1/tts' })
    expectError(missing, 400, 'TTS_ERR_BAD_REQUEST')
    expect(missing.json().message).toContain('text')
    expectError(await t.app.inject({ method: 'GET', url: '/v1/tts?text=a&text=b' }), 400, 'TTS_ERR_BAD_REQUEST')
    expectError(await t.app.inject({ method: 'GET', url: '/v1/tts?text=a&refresh=maybe' }), 400, 'TTS_ERR_BAD_REQUEST')
    expectError(await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { voice: 'en' } }), 400, 'TTS_ERR_BAD_REQUEST')
    expectError(await t.app.inject({ method: 'POST', url: '/v1/tts', payload: [1, 2] }), 400, 'TTS_ERR_BAD_REQUEST')
    const extra = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'a', sampleRate: 16000 } })
    expectError(extra, 400, 'TTS_ERR_BAD_REQUEST')
    expect(extra.json().message).toBe('body must NOT have additional properties ("sampleRate")')
  })

  it('uses the core codes for phrases the core refuses', async () => {
    const t = await testApp()
    expectError(await t.app.inject({ method: 'GET', url: '/v1/tts?text=a&rate=12345' }), 400, 'TTS_ERR_INVALID_RATE')
    // A query-string rate is text the core parses, as tts_cache_rate over ESL: the same code.
    expectError(await t.app.inject({ method: 'GET', url: '/v1/tts?text=a&rate=fast' }), 400, 'TTS_ERR_INVALID_RATE')
    expectError(await t.app.inject({ method: 'GET', url: '/v1/tts?text=%20%20' }), 400, 'TTS_ERR_TEXT_EMPTY')
    expectError(await t.app.inject({ method: 'GET', url: '/v1/tts?text=a&engine=festival' }), 400, 'TTS_ERR_UNKNOWN_ENGINE')
    expectError(await t.app.inject({ method: 'GET', url: '/v1/tts?text=a&voice=zz' }), 400, 'TTS_ERR_UNKNOWN_VOICE')
    expectError(await t.app.inject({ method: 'GET', url: '/v1/tts?text=a&voice=..%2Fx' }), 400, 'TTS_ERR_INVALID_VOICE')
    expectError(await t.app.inject({ method: 'GET', url: `/v1/tts?text=${'a'.repeat(2001)}` }), 400, 'TTS_ERR_TEXT_TOO_LONG')
    expectError(await t.app.inject({ method: 'GET', url: '/v1/tts?text=a%ED%A0%80' }), 400, 'TTS_ERR_TEXT_INVALID')
    expectError(await t.app.inject({ method: 'GET', url: '/v1/tts?text=a&voice=%E0%A4' }), 400, 'TTS_ERR_BAD_REQUEST')
    expectError(await t.app.inject({ method: 'POST', url: '/v1/tts', headers: { 'content-type': 'application/json' }, payload: '{"text":"\\udc00"}' }), 400, 'TTS_ERR_TEXT_INVALID')
    expect(t.renderer.started).toHaveLength(0)
  })

  it('maps malformed and empty JSON bodies to 400', async () => {
    const t = await testApp()
    const json = { 'content-type': 'application/json' }
    expectError(await t.app.inject({ method: 'POST', url: '/v1/tts', headers: json, payload: '{"text":' }), 400, 'TTS_ERR_BAD_REQUEST')
    expectError(await t.app.inject({ method: 'POST', url: '/v1/tts', headers: json, payload: '' }), 400, 'TTS_ERR_BAD_REQUEST')
    expectError(await t.app.inject({ method: 'POST', url: '/v1/tts', headers: json, payload: '{"text":"a","__proto__":{"x":1}}' }), 400, 'TTS_ERR_BAD_REQUEST')
  })

  it('maps a body over TTS_BODY_LIMIT_BYTES to 413 TTS_ERR_PAYLOAD_TOO_LARGE', async () => {
    const t = await testApp({ config: { bodyLimitBytes: 1024 } })
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'a'.repeat(2000) } })
    expectError(res, 413, 'TTS_ERR_PAYLOAD_TOO_LARGE')
    const prewarm = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'line\n'.repeat(300) })
    expectError(prewarm, 413, 'TTS_ERR_PAYLOAD_TOO_LARGE')
  })

  it('maps an unsupported content type to 415 TTS_ERR_UNSUPPORTED_MEDIA_TYPE', async () => {
    const t = await testApp()
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/tts', headers: { 'content-type': type }, payload: 'text=a' })
      expectError(res, 415, 'TTS_ERR_UNSUPPORTED_MEDIA_TYPE')
    }
    const none = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: Buffer.from('{"text":"a"}') })
    expect([400, 415]).toContain(none.statusCode)
  })

  it('hides internal error details behind TTS_ERR_INTERNAL with the request id', async () => {
    const t = await testApp()
    const original = t.ctx.service.get.bind(t.ctx.service)
    t.ctx.service.get = async () => {
      throw new TypeError('cannot read x of undefined at /srv/secret/file.js')
    }
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', payload: { text: 'a' }, headers: { 'x-request-id': 'abc-123' } })
    t.ctx.service.get = original
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({ code: 'TTS_ERR_INTERNAL', message: expect.stringContaining('abc-123') })
    expect(res.body).not.toContain('secret')
    expect(res.headers['x-request-id']).toBe('abc-123')
    expect(t.logs.text).toContain('cannot read x of undefined')
  })
})
