import { describe, expect, it } from 'vitest'
import { eventually, testApp } from '../harness/http/test-apps.js'

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('GET /healthz', () => {
  it('answers 200 {status: ok}', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: '/healthz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })
})

describe('GET /readyz', () => {
  it('answers 200 with every check when ready', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok', checks: { cacheDir: { ok: true, state: 'ok' }, engine: { ok: true, state: 'ok' } } })
  })

  it('answers 200 but reports a degraded check', async () => {
    const t = await testApp({
      readiness: async () => ({
        ok: true,
        checks: { cacheDir: { ok: true }, redis: { ok: true, state: 'degraded', detail: 'connection refused; using the local pool' } },
      }),
    })
    const res = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      status: 'degraded',
      checks: { cacheDir: { ok: true, state: 'ok' }, redis: { ok: true, state: 'degraded', detail: 'connection refused; using the local pool' } },
    })
  })

  it('answers 503 {code, message} naming the failing checks, with every check', async () => {
    const t = await testApp({
      readiness: async () => ({
        ok: false,
        checks: {
          cacheDir: { ok: true },
          engine: { ok: false, detail: 'espeak-ng not found' },
          esl: { ok: false, state: 'failed', detail: 'FreeSWITCH refused the password' },
        },
      }),
    })
    const res = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.json()).toEqual({
      code: 'TTS_ERR_ENGINE_UNAVAILABLE',
      message: 'not ready: engine (espeak-ng not found); esl (FreeSWITCH refused the password)',
      status: 'failed',
      checks: {
        cacheDir: { ok: true, state: 'ok' },
        engine: { ok: false, state: 'failed', detail: 'espeak-ng not found' },
        esl: { ok: false, state: 'failed', detail: 'FreeSWITCH refused the password' },
      },
    })
  })

  it('answers 503 TTS_ERR_INTERNAL, leaking nothing, when the checks themselves throw', async () => {
    const t = await testApp({
      readiness: async () => {
        throw new Error('boom /secret/path')
      },
    })
    const res = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({ code: 'TTS_ERR_INTERNAL', status: 'failed', checks: {} })
    expect(res.body).not.toContain('/secret/path')
  })
})

describe('GET /metrics', () => {
  it('reflects a render, a hit and a coalesced request, with cache and queue gauges', async () => {
    const t = await testApp()
    t.renderer.hold()
    const first = t.app.inject({ method: 'GET', url: '/v1/tts?text=metrics' })
    await t.renderer.waitForStarted(1)
    const joined = t.app.inject({ method: 'GET', url: '/v1/tts?text=metrics' })
    await eventually(async () => (sample(await t.metrics.text(), 'tts_coalesced_waiters_total{source="http"}') === 1 ? true : undefined))
    t.renderer.release()
    await Promise.all([first, joined])
    await t.app.inject({ method: 'GET', url: '/v1/tts?text=metrics' })
    await t.app.inject({ method: 'GET', url: '/v1/tts?text=' })
    const res = await t.app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = res.body
    expect(sample(text, 'tts_requests_total{source="http",result="rendered"}')).toBe(1)
    expect(sample(text, 'tts_requests_total{source="http",result="coalesced"}')).toBe(1)
    expect(sample(text, 'tts_requests_total{source="http",result="hit"}')).toBe(1)
    expect(sample(text, 'tts_requests_total{source="http",result="error"}')).toBe(1)
    expect(sample(text, 'tts_errors_total{source="http",code="TTS_ERR_TEXT_EMPTY"}')).toBe(1)
    expect(sample(text, 'tts_coalesced_waiters_total{source="http"}')).toBe(1)
    expect(sample(text, 'tts_renders_total{engine="espeak-ng",result="ok"}')).toBe(1)
    expect(sample(text, 'tts_render_duration_seconds_count{engine="espeak-ng",result="ok"}')).toBe(1)
    expect(sample(text, 'tts_queue_wait_seconds_count')).toBe(1)
    expect(sample(text, 'tts_cache_entries')).toBe(1)
    expect(sample(text, 'tts_cache_bytes')).toBeGreaterThan(44)
    expect(sample(text, 'tts_queue_depth{state="waiting"}')).toBe(0)
    expect(sample(text, 'tts_queue_concurrency')).toBe(2)
    expect(sample(text, 'tts_http_requests_total{method="GET",route="/v1/tts",status_code="200"}')).toBe(3)
    expect(sample(text, 'tts_http_requests_total{method="GET",route="/v1/tts",status_code="400"}')).toBe(1)
  })

  it('counts errors the service never saw (auth, 404) once, by code', async () => {
    const t = await testApp()
    await t.app.inject({ method: 'DELETE', url: '/v1/cache?all=true' })
    await t.app.inject({ method: 'GET', url: '/nowhere' })
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(text, 'tts_errors_total{source="http",code="TTS_ERR_UNAUTHORIZED"}')).toBe(1)
    expect(sample(text, 'tts_errors_total{source="http",code="TTS_ERR_NOT_FOUND"}')).toBe(1)
    expect(sample(text, 'tts_http_requests_total{method="GET",route="unmatched",status_code="404"}')).toBe(1)
  })
})

describe('OpenAPI', () => {
  it('serves the document generated from the route schemas at /docs/json', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' })
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(doc.openapi).toMatch(/^3\./)
    expect(Object.keys(doc.paths).sort()).toEqual(
      ['/healthz', '/metrics', '/readyz', '/v1/audio/{file}', '/v1/cache', '/v1/cache/{key}', '/v1/prewarm', '/v1/prewarm/{id}', '/v1/tts'].sort(),
    )
    expect(Object.keys(doc.paths['/v1/tts']).sort()).toEqual(['get', 'head', 'post'])
    expect(doc.paths['/v1/tts'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['text', 'voice', 'engine', 'rate', 'refresh', 'ext'])
    expect(Object.keys(doc.paths['/v1/prewarm'].post.requestBody.content).sort()).toEqual(['application/json', 'text/plain'])
    expect(doc.paths['/v1/prewarm'].post.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/v1/tts'].get.security).toEqual([{}, { bearerAuth: [] }])
    expect(doc.paths['/v1/cache/{key}'].get.security).toBeUndefined()
    expect(doc.paths['/v1/cache/{key}'].delete.responses['401'].content['application/json'].schema.required).toEqual(['code', 'message'])
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer' })
  })

  it('serves a browsable page at /docs, and the document as YAML', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: '/docs/' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/text\/html/)
    const yaml = await t.app.inject({ method: 'GET', url: '/docs/yaml' })
    expect(yaml.statusCode).toBe(200)
    expect(yaml.body).toContain('/v1/prewarm')
  })

  it('documents the token on every route but /healthz with authAllRoutes', async () => {
    const t = await testApp({ config: { authAllRoutes: true } })
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json', headers: { authorization: 'Bearer test-token-7f3a9c1e' } })).json()
    expect(doc.paths['/v1/tts'].get.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/metrics'].get.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/healthz'].get.security).toBeUndefined()
  })

  it('can be turned off', async () => {
    const t = await testApp({ server: { docs: false } })
    expect((await t.app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(404)
  })
})
