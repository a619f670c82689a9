import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load-config.js'
import { ACCEL_REQUEST_HEADER, cacheRelativeWavPath } from '../../src/http/accel-redirect.js'
import { auth, testApp } from '../harness/http/test-apps.js'

const hello = '/v1/tts?text=Hello%20front'
const front = { [ACCEL_REQUEST_HEADER]: '1' }
const PREFIX = '/_tts_cache/'

describe('X-Accel-Redirect for the nginx front (TTS_HTTP_ACCEL_REDIRECT)', () => {
  it('answers a /v1/tts hit from the front with X-Accel-Redirect to the layout path, no body, and the service headers', async () => {
    const t = await testApp({ config: { httpAccelRedirect: PREFIX } })
    const rendered = await t.app.inject({ method: 'GET', url: hello, headers: front })
    const key = String(rendered.headers.etag).slice(1, -1)
    const hit = await t.app.inject({ method: 'GET', url: hello, headers: front })
    expect(hit.statusCode).toBe(200)
    expect(hit.headers['x-accel-redirect']).toBe(`${PREFIX}${key.slice(0, 2)}/${key.slice(2, 4)}/${key}.wav`)
    expect(t.store.pathFor(key).endsWith(`/${cacheRelativeWavPath(key)}`)).toBe(true)
    expect(hit.rawPayload.length).toBe(0)
    expect(hit.headers.etag).toBe(`"${key}"`)
    expect(hit.headers['x-tts-cache']).toBe('hit')
    expect(hit.headers['content-type']).toBe('audio/wav')
    // Left to the front, from the file it opens (a copied one would be sent twice).
    expect(hit.headers['accept-ranges']).toBeUndefined()
    expect(hit.headers['cache-control']).toBeUndefined()
    const head = await t.app.inject({ method: 'HEAD', url: hello, headers: front })
    expect(head.headers['x-accel-redirect']).toBe(hit.headers['x-accel-redirect'])
  })

  it('lets the front keep a hit answer for TTS_HTTP_ACCEL_LOOKUP_SECONDS (X-Accel-Expires), never a render, nor when every route needs the token', async () => {
    const t = await testApp({ config: { httpAccelRedirect: PREFIX } })
    const rendered = await t.app.inject({ method: 'GET', url: hello, headers: front })
    expect(rendered.headers['x-accel-expires']).toBeUndefined()
    const hit = await t.app.inject({ method: 'GET', url: hello, headers: front })
    expect(hit.headers['x-accel-redirect']).toBeDefined()
    expect(hit.headers['x-accel-expires']).toBe('30')
    // A client not behind the front never sees it.
    const direct = await t.app.inject({ method: 'GET', url: hello })
    expect(direct.headers['x-accel-expires']).toBeUndefined()

    const short = await testApp({ config: { httpAccelRedirect: PREFIX, httpAccelLookupSeconds: 5 } })
    await short.app.inject({ method: 'GET', url: hello, headers: front })
    expect((await short.app.inject({ method: 'GET', url: hello, headers: front })).headers['x-accel-expires']).toBe('5')

    const never = await testApp({ config: { httpAccelRedirect: PREFIX, httpAccelLookupSeconds: 0 } })
    await never.app.inject({ method: 'GET', url: hello, headers: front })
    const notKept = await never.app.inject({ method: 'GET', url: hello, headers: front })
    expect(notKept.headers['x-accel-redirect']).toBeDefined()
    expect(notKept.headers['x-accel-expires']).toBeUndefined()

    // The answer depended on the token: the front asks again each time.
    const guarded = await testApp({ config: { httpAccelRedirect: PREFIX, authAllRoutes: true } })
    await guarded.app.inject({ method: 'GET', url: hello, headers: { ...front, ...auth } })
    const tokenHit = await guarded.app.inject({ method: 'GET', url: hello, headers: { ...front, ...auth } })
    expect(tokenHit.headers['x-accel-redirect']).toBeDefined()
    expect(tokenHit.headers['x-accel-expires']).toBeUndefined()
  })

  it('takes TTS_HTTP_ACCEL_LOOKUP_SECONDS from 0 to 3600 (default 30)', () => {
    expect(loadConfig({ env: {} }).httpAccelLookupSeconds).toBe(30)
    expect(loadConfig({ env: { TTS_HTTP_ACCEL_LOOKUP_SECONDS: '0' } }).httpAccelLookupSeconds).toBe(0)
    expect(loadConfig({ env: { TTS_HTTP_ACCEL_LOOKUP_SECONDS: '3600' } }).httpAccelLookupSeconds).toBe(3600)
    for (const bad of ['-1', '3601', '1.5', 'soon']) {
      expect(() => loadConfig({ env: { TTS_HTTP_ACCEL_LOOKUP_SECONDS: bad } }), bad).toThrow(/TTS_HTTP_ACCEL_LOOKUP_SECONDS/)
    }
  })

  it('streams a render (a miss) and a refresh as without the front', async () => {
    const t = await testApp({ config: { httpAccelRedirect: PREFIX } })
    const rendered = await t.app.inject({ method: 'GET', url: hello, headers: front })
    expect(rendered.headers['x-tts-cache']).toBe('rendered')
    expect(rendered.headers['x-accel-redirect']).toBeUndefined()
    expect(rendered.rawPayload.subarray(0, 4).toString('ascii')).toBe('RIFF')
    const refreshed = await t.app.inject({ method: 'GET', url: `${hello}&refresh=true`, headers: { ...front, ...auth } })
    expect(refreshed.headers['x-accel-redirect']).toBeUndefined()
    expect(refreshed.rawPayload.subarray(0, 4).toString('ascii')).toBe('RIFF')
  })

  it('streams a hit to a client that did not come through the front, and answers 304 itself', async () => {
    const t = await testApp({ config: { httpAccelRedirect: PREFIX } })
    const first = await t.app.inject({ method: 'GET', url: hello })
    const direct = await t.app.inject({ method: 'GET', url: hello })
    expect(direct.headers['x-tts-cache']).toBe('hit')
    expect(direct.headers['x-accel-redirect']).toBeUndefined()
    expect(direct.rawPayload.equals(first.rawPayload)).toBe(true)
    const other = await t.app.inject({ method: 'GET', url: hello, headers: { [ACCEL_REQUEST_HEADER]: 'yes' } })
    expect(other.headers['x-accel-redirect']).toBeUndefined()
    const conditional = await t.app.inject({ method: 'GET', url: hello, headers: { ...front, 'if-none-match': String(first.headers.etag) } })
    expect(conditional.statusCode).toBe(304)
    expect(conditional.headers['x-accel-redirect']).toBeUndefined()
  })

  it('is off by default: the front header alone changes nothing', async () => {
    const t = await testApp()
    const first = await t.app.inject({ method: 'GET', url: hello, headers: front })
    const hit = await t.app.inject({ method: 'GET', url: hello, headers: front })
    expect(hit.headers['x-tts-cache']).toBe('hit')
    expect(hit.headers['x-accel-redirect']).toBeUndefined()
    expect(hit.rawPayload.equals(first.rawPayload)).toBe(true)
  })

  it('takes a path prefix starting and ending with / and refuses anything else', () => {
    expect(loadConfig({ env: { TTS_HTTP_ACCEL_REDIRECT: '/_tts_cache/' } }).httpAccelRedirect).toBe('/_tts_cache/')
    expect(loadConfig({ env: { TTS_HTTP_ACCEL_REDIRECT: '/internal/tts-cache/' } }).httpAccelRedirect).toBe('/internal/tts-cache/')
    expect(loadConfig({ env: {} }).httpAccelRedirect).toBeUndefined()
    for (const bad of ['_tts_cache/', '/_tts_cache', '/../x/', '/a b/', 'http://x/', '/a//b/', '/', '/x/\r\n/']) {
      expect(() => loadConfig({ env: { TTS_HTTP_ACCEL_REDIRECT: bad } }), bad).toThrow(/TTS_HTTP_ACCEL_REDIRECT/)
    }
  })
})
