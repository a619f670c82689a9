/**
 * Bad input, refused the same way over HTTP and ESL (issue 17, item 6). HTTP runs on the test app
 * (real TtsService, DiskStore and pool; the renderer writes a canonical WAV). ESL runs the real
 * app (espeak-ng + sox) behind the hook, with FreeSWITCH as the capture-checked double. Every row
 * states what must happen; none of them may be rendered.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { FIXTURES } from '../harness/app/test-app.js'
import { MACRO_END_EXACT, MACRO_TEXT_GUARD } from '../../src/esl/outbound/call-input.js'
import { channelDataFrame } from '../fakes/freeswitch/frames.js'
import { FALLBACK_WAV, startHook } from '../harness/esl/hook.js'
import { ManualScheduler } from '../fakes/esl/manual-scheduler.js'
import { waitFor } from '../harness/esl/wait.js'
import { auth, testApp } from '../harness/http/test-apps.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const json = { 'content-type': 'application/json' }

describe('HTTP JSON bodies: no type coercion', () => {
  it.each([
    ['text is a number', '{"text":42}'],
    ['the body is true', 'true'],
    ['the body is an array', '["a"]'],
    ['the body is a big number', '1e21'],
    ['the body is a string', '"hello"'],
    ['the body is null', 'null'],
    ['text is null', '{"text":null}'],
    ['text is an array', '{"text":["Hello"]}'],
    ['text is an object', '{"text":{"a":1}}'],
    ['rate is a string', '{"text":"Hello","rate":"8000"}'],
    ['rate is an array', '{"text":"Hello","rate":[8000]}'],
    ['rate is a fraction', '{"text":"Hello","rate":8000.5}'],
    ['rate is a boolean', '{"text":"Hello","rate":true}'],
    ['rate is null', '{"text":"Hello","rate":null}'],
    ['engine is an array', '{"text":"Hello","engine":["espeak-ng"]}'],
    ['voice is an array', '{"text":"Hello","voice":["en"]}'],
    ['voice is a number', '{"text":"Hello","voice":1}'],
    ['an unknown field (a typo must not pass silently)', '{"text":"Hello","sampleRate":16000}'],
  ])('POST /v1/tts refuses %s with 400', async (_what, payload) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', headers: json, payload })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toMatch(/^TTS_ERR_(BAD_REQUEST|INVALID_RATE)$/)
    expect(t.renderer.started).toHaveLength(0)
  })

  it('still takes a well-typed body (rate 8000.0 is the JSON number 8000)', async () => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', headers: json, payload: '{"text":"Hello","rate":8000.0,"voice":"en","engine":"espeak-ng"}' })
    expect(res.statusCode).toBe(200)
  })

  it.each([
    ['text is a number', '{"items":[{"text":42}]}'],
    ['rate is a string', '{"items":[{"text":"Hello","rate":"8000"}]}'],
    ['rate is an array', '{"items":[{"text":"Hello","rate":[8000]}]}'],
    ['engine is an array', '{"items":[{"text":"Hello","engine":["espeak-ng"]}]}'],
    ['pin is a string', '{"items":[{"text":"Hello","pin":"true"}]}'],
    ['items is one object, not an array', '{"items":{"text":"Hello"}}'],
    ['an item is a string', '{"items":["Hello"]}'],
    ['an unknown item field', '{"items":[{"text":"Hello","sampleRate":16000}]}'],
    ['an unknown top-level field', '{"items":[{"text":"Hello"}],"pin":true}'],
  ])('POST /v1/prewarm refuses a batch where %s with 400', async (_what, payload) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: { ...json, ...auth }, payload })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('TTS_ERR_BAD_REQUEST')
    expect(t.renderer.started).toHaveLength(0)
  })
})

describe('HTTP bodies: UTF-8 only', () => {
  it.each([
    ['a lone continuation byte', Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0x61, 0x80, 0x22, 0x7d])],
    ['a Latin-1 é', Buffer.concat([Buffer.from('{"text":"caf'), Buffer.from([0xe9]), Buffer.from('"}')])],
    ['an encoded surrogate', Buffer.concat([Buffer.from('{"text":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])],
  ])('POST /v1/tts refuses invalid UTF-8 in JSON (%s) with 400, never storing U+FFFD', async (_what, payload) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', headers: json, payload })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('TTS_ERR_TEXT_INVALID')
    expect(t.renderer.started).toHaveLength(0)
  })

  it('refuses invalid UTF-8 in a text/plain pre-warm body with 400', async () => {
    const t = await testApp()
    const payload = Buffer.concat([Buffer.from('Hello\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')])
    const res = await t.app.inject({ method: 'POST', url: '/v1/prewarm', headers: { 'content-type': 'text/plain', ...auth }, payload })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('TTS_ERR_TEXT_INVALID')
    expect(t.renderer.started).toHaveLength(0)
  })

  it.each([
    ['POST /v1/tts', '/v1/tts', 'application/json; charset=iso-8859-1', '{"text":"Hello"}'],
    ['POST /v1/tts', '/v1/tts', 'application/json; charset="windows-1252"', '{"text":"Hello"}'],
    ['POST /v1/tts', '/v1/tts', 'application/json;charset=utf-16', '{"text":"Hello"}'],
    ['POST /v1/prewarm', '/v1/prewarm', 'text/plain; charset=latin1', 'Hello'],
    ['POST /v1/prewarm', '/v1/prewarm', 'application/json; charset=us-ascii', '{"items":[{"text":"Hello"}]}'],
  ])('%s refuses %s with 415', async (_route, url, type, payload) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url, headers: { 'content-type': type, ...auth }, payload })
    expect(res.statusCode).toBe(415)
    expect(res.json().code).toBe('TTS_ERR_UNSUPPORTED_MEDIA_TYPE')
    expect(t.renderer.started).toHaveLength(0)
  })

  it.each(['application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'Application/JSON;Charset=UTF-8'])('takes %s', async (type) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', headers: { 'content-type': type }, payload: '{"text":"Grüße"}' })
    expect(res.statusCode).toBe(200)
    expect(t.renderer.started[0]?.request.text).toBe('Grüße')
  })
})

/** The strings both transports must treat alike: `ok` ones are taken, the rest refused. */
const RATE_STRINGS: readonly (readonly [string, boolean])[] = [
  ['8000', true],
  ['16000', true],
  ['8000.0', false],
  ['1e3', false],
  ['8e3', false],
  ['+8000', false],
  ['08000', false],
  [' 8000', false],
  ['8000 ', false],
  ['0x1F40', false],
  ['8_000', false],
  ['-8000', false],
  ['8001', false],
  ['٨٠٠٠', false],
]

describe('rate: one parser for HTTP and ESL', () => {
  it.each(RATE_STRINGS)('HTTP query rate=%j → taken: %s', async (rate, ok) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: `/v1/tts?text=Hello&rate=${encodeURIComponent(rate)}` })
    if (ok) {
      expect(res.statusCode).toBe(200)
      expect(t.renderer.started[0]?.request.sampleRate).toBe(Number(rate))
    } else {
      expect(res.statusCode).toBe(400)
      expect(res.json().code).toBe('TTS_ERR_INVALID_RATE')
      expect(t.renderer.started).toHaveLength(0)
    }
  })

  it('ESL tts_cache_rate takes and refuses exactly the strings HTTP does', async () => {
    const hook = await startHook({}, cleanups)
    for (const [i, [rate, ok]] of RATE_STRINGS.entries()) {
      const text = `Rate case ${i}`
      const before = hook.renders()
      const result = await hook.call({ variables: [['tts_cache_text', text], ['tts_cache_rate', rate]] })
      await waitFor(() => hook.observer.results.length === i + 1, 'the outcome')
      if (ok) {
        expect(result.variables.get('tts_cache_status'), rate).toBe('rendered')
        expect(hook.gate.started.at(-1)?.request.sampleRate, rate).toBe(Number(rate))
      } else {
        expect(result.variables.get('tts_cache_status'), rate).toBe('error')
        expect(result.played, rate).toBe(FALLBACK_WAV)
        expect(hook.renders(), rate).toBe(before)
        expect(hook.observer.results[i]?.errorCode, rate).toBe('TTS_ERR_INVALID_RATE')
      }
    }
  })

  it.each([
    ['a repeated parameter', '/v1/tts?text=Hello&rate=8000&rate=8000'],
    ['prewarm text/plain rate=8000.0', '/v1/prewarm?rate=8000.0'],
  ])('HTTP refuses %s', async (_what, url) => {
    const t = await testApp()
    const isPrewarm = url.startsWith('/v1/prewarm')
    const res = await t.app.inject(
      isPrewarm ? { method: 'POST', url, headers: { 'content-type': 'text/plain', ...auth }, payload: 'Hello' } : { method: 'GET', url },
    )
    expect(res.statusCode).toBe(400)
    if (isPrewarm) {
      // The query's rate is the default of every line: refused as the request's error (issue 20), not 202 with every line rejected.
      expect(res.json()).toMatchObject({ code: 'TTS_ERR_INVALID_RATE', message: expect.stringContaining('query rate=8000.0') })
    }
    expect(t.renderer.started).toHaveLength(0)
  })

  it.each([
    ['refresh=1', '/v1/tts?text=Hello&refresh=1'],
    ['refresh=yes', '/v1/tts?text=Hello&refresh=yes'],
    ['refresh twice', '/v1/tts?text=Hello&refresh=true&refresh=true'],
  ])('HTTP refuses a boolean that is not true/false: %s', async (_what, url) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url, headers: auth })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('TTS_ERR_BAD_REQUEST')
  })
})

describe('ESL: raw bytes that are not UTF-8', () => {
  it('refuses raw non-UTF-8 bytes in tts_cache_text (FreeSWITCH URL-encodes every byte above 0x7E) with status error', async () => {
    const hook = await startHook({}, cleanups)
    const uuid = '6a1d8a55-6a0e-4d4b-9d34-0f0d8a3a0c12'
    const frame = channelDataFrame({ uuid, variables: [['tts_cache_text', 'PLACEHOLDER']], control: 'full', socketMode: 'static' })
    const at = frame.indexOf('variable_tts_cache_text: ')
    const end = frame.indexOf('\n', at)
    const bytes = Buffer.concat([
      frame.subarray(0, at),
      Buffer.from(`variable_tts_cache_text: ${MACRO_TEXT_GUARD}caf`),
      Buffer.from([0xe9, 0xff]),
      Buffer.from(MACRO_END_EXACT),
      frame.subarray(end),
    ])
    const result = await hook.call({ uuid, channelDataOverride: bytes, variables: [['tts_cache_text', 'PLACEHOLDER']] })
    expect(result.variables.get('tts_cache_status')).toBe('error')
    expect(result.variables.has('tts_cache_key')).toBe(false)
    expect(result.played).toBe(FALLBACK_WAV)
    expect(hook.renders()).toBe(0)
  })

  it('refuses raw non-UTF-8 bytes in tts_cache_voice', async () => {
    const hook = await startHook({}, cleanups)
    const uuid = '6a1d8a55-6a0e-4d4b-9d34-0f0d8a3a0c13'
    const frame = channelDataFrame({ uuid, variables: [['tts_cache_text', 'Hello'], ['tts_cache_voice', 'VOICE']], control: 'full', socketMode: 'static' })
    const at = frame.indexOf('variable_tts_cache_voice: ')
    const end = frame.indexOf('\n', at)
    const bytes = Buffer.concat([frame.subarray(0, at), Buffer.from('variable_tts_cache_voice: en'), Buffer.from([0xff]), frame.subarray(end)])
    const result = await hook.call({ uuid, channelDataOverride: bytes, variables: [['tts_cache_text', 'Hello']] })
    expect(result.variables.get('tts_cache_status')).toBe('error')
    expect(hook.renders()).toBe(0)
  })
})

describe('tts_cache_key on every outcome where it is computable', () => {
  it.each([
    ['plain text', 'Your balance is forty two pounds'],
    ['text with a % (read back verbatim)', 'Your rate is 5% a year'],
  ])('tts_cache_deadline_ms=0 on a miss: timeout with the key, and the render warms the cache (%s)', async (_what, text) => {
    const scheduler = new ManualScheduler()
    const hook = await startHook({ scheduler }, cleanups)
    hook.gate.hold()
    const call = hook.start({ variables: [['tts_cache_text', text], ['tts_cache_deadline_ms', '0']] })
    await waitFor(() => hook.gate.heldCount === 1 || call.commandsSoFar.some((c) => c.line === 'exit'), 'the lookup')
    scheduler.advance(0)
    const result = await call.result
    expect(result.variables.get('tts_cache_status')).toBe('timeout')
    expect(result.variables.get('tts_cache_key')).toBe(hook.expectedKey(text))
    expect(result.played).toBe(FALLBACK_WAV)
    hook.gate.release()
    await waitFor(() => hook.test.app.store.lookup(hook.expectedKey(text)) !== undefined, 'the warmed entry')
  })

  it('a render error after the key was resolved: error with the key', async () => {
    const env = { TTS_ENGINE: 'command', TTS_COMMAND: JSON.stringify([`${FIXTURES}/fail-with-stderr`, '{out}']) }
    const hook = await startHook({}, cleanups, { env })
    const result = await hook.call({ variables: [['tts_cache_text', 'Hello']] })
    expect(result.variables.get('tts_cache_status')).toBe('error')
    expect(result.variables.get('tts_cache_key')).toBe(hook.expectedKey('Hello'))
  })
})

describe('HTTP: the public URL and the request id', () => {
  it.each([
    ['markup', 'evil.example"><script>alert(1)</script>'],
    ['a path', 'evil.example/x'],
    ['userinfo', 'user@evil.example'],
    ['a bad port', 'evil.example:99999'],
    ['spaces', 'evil example'],
  ])('never copies an invalid Host (%s) into the url: 400', async (_what, host) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', headers: { ...json, host }, payload: '{"text":"Hello"}' })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('TTS_ERR_BAD_REQUEST')
    expect(res.body).not.toContain('<script>')
    expect(t.renderer.started).toHaveLength(0)
  })

  it.each([
    ['a name and port', 'tts.example:8080', 'http://tts.example:8080'],
    ['an IPv4 address', '10.0.0.5', 'http://10.0.0.5'],
    ['an IPv6 address', '[::1]:8080', 'http://[::1]:8080'],
    ['a name without port', 'localhost', 'http://localhost'],
  ])('builds the url from a valid Host (%s)', async (_what, host, base) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', headers: { ...json, host }, payload: '{"text":"Hello"}' })
    expect(res.statusCode).toBe(200)
    expect(res.json().url).toBe(`${base}/v1/audio/${res.json().key}.wav`)
  })

  it('uses TTS_PUBLIC_URL whatever the Host says', async () => {
    const t = await testApp({ config: { publicUrl: 'https://tts.example.com/base/' } })
    const res = await t.app.inject({ method: 'POST', url: '/v1/tts', headers: { ...json, host: 'evil.example' }, payload: '{"text":"Hello"}' })
    expect(res.statusCode).toBe(200)
    expect(res.json().url).toBe(`https://tts.example.com/base/v1/audio/${res.json().key}.wav`)
  })

  it.each([
    ['too long', 'a'.repeat(129)],
    ['markup', '<script>alert(1)</script>'],
    ['spaces', 'abc def'],
    ['empty', ''],
  ])('replaces an X-Request-Id that is %s with a generated one', async (_what, id) => {
    const t = await testApp()
    const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } })
    const echoed = String(res.headers['x-request-id'])
    expect(echoed).not.toBe(id)
    expect(echoed).toMatch(/^[A-Za-z0-9._:\/+=@-]{1,128}$/)
  })

  it.each([['abc-123'], ['a'.repeat(128)], ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'], ['6a1d8a55-6a0e-4d4b-9d34-0f0d8a3a0c11']])(
    'echoes a well-formed X-Request-Id (%s)',
    async (id) => {
      const t = await testApp()
      const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } })
      expect(res.headers['x-request-id']).toBe(id)
    },
  )
})
