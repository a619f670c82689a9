/**
 * The API over a real listening socket (Node's HTTP parser, undici's fetch) on the real app
 * (buildApp: espeak-ng, DiskStore, in-process pool): what a client sees, including requests
 * the parser refuses before Fastify runs. A RenderGate around the real renderer keeps renders
 * in flight where a test needs a slow engine.
 */
import { readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_TOKEN } from '../harness/http/test-app.js'
import { buildRealHttpApp, type RealHttpApp } from '../harness/http/real-app.js'
import { eventually } from '../harness/http/test-apps.js'
import { listen, parseRaw, rawRequest } from '../harness/http/listening.js'

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name))
  }
  return out
}

let t: RealHttpApp
let base: string

beforeAll(async () => {
  t = await buildRealHttpApp()
  base = await listen(t.app)
})

afterAll(async () => {
  await t.close()
})

type Outcome = { status: 200 } | { status: number; code: string }

/** [name, how to send it, what must come back]. `get` values are inserted into the URL as given (already percent-encoded). */
const badInputs: [string, { get: string } | { post: unknown } | { raw: string }, Outcome][] = [
  ['empty text (GET)', { get: '' }, { status: 400, code: 'TTS_ERR_TEXT_EMPTY' }],
  ['empty text (POST)', { post: { text: '' } }, { status: 400, code: 'TTS_ERR_TEXT_EMPTY' }],
  ['whitespace only', { get: '%20%09%0A%20' }, { status: 400, code: 'TTS_ERR_TEXT_EMPTY' }],
  ['whitespace only (POST)', { post: { text: ' \t\r\n\u00a0\u2028 ' } }, { status: 400, code: 'TTS_ERR_TEXT_EMPTY' }],
  ['100 KB in the URL', { get: 'a'.repeat(100 * 1024) }, { status: 413, code: 'TTS_ERR_PAYLOAD_TOO_LARGE' }],
  ['100 KB in a JSON body', { post: { text: 'a'.repeat(100 * 1024) } }, { status: 400, code: 'TTS_ERR_TEXT_TOO_LONG' }],
  ['a NUL (GET)', { get: 'a%00b' }, { status: 400, code: 'TTS_ERR_TEXT_INVALID' }],
  ['a NUL (POST)', { post: { text: 'a\u0000b' } }, { status: 400, code: 'TTS_ERR_TEXT_INVALID' }],
  ['a raw NUL in the request line', { raw: 'GET /v1/tts?text=a\u0000b HTTP/1.1\r\nHost: x\r\n\r\n' }, { status: 400, code: 'TTS_ERR_BAD_REQUEST' }],
  ['CR/LF (GET)', { get: 'line%0D%0Aone' }, { status: 200 }],
  ['CR/LF (POST)', { post: { text: 'line\r\ntwo' } }, { status: 200 }],
  ['a raw CR/LF in the request line', { raw: 'GET /v1/tts?text=a\r\nb HTTP/1.1\r\nHost: x\r\n\r\n' }, { status: 400, code: 'TTS_ERR_BAD_REQUEST' }],
  ['a leading -', { get: '-v%20--help' }, { status: 200 }],
  ['a leading - (POST)', { post: { text: '--output=/etc/passwd' } }, { status: 200 }],
  ['quotes', { post: { text: `He said "it's" fine` } }, { status: 200 }],
  ['backticks', { post: { text: 'run `reboot` now' } }, { status: 200 }],
  ['$(…)', { get: encodeURIComponent('$(rm -rf /) and ${HOME}') }, { status: 200 }],
  ['a lone surrogate (%ED%A0%80 in a query)', { get: 'a%ED%A0%80b' }, { status: 400, code: 'TTS_ERR_TEXT_INVALID' }],
  ['a lone surrogate ("\\ud800" in JSON)', { post: '{"text":"a\\ud800b"}' }, { status: 400, code: 'TTS_ERR_TEXT_INVALID' }],
  ['an unknown voice', { post: { text: 'a', voice: 'no-such-voice' } }, { status: 400, code: 'TTS_ERR_UNKNOWN_VOICE' }],
  ['an unknown engine', { post: { text: 'a', engine: 'festival' } }, { status: 400, code: 'TTS_ERR_UNKNOWN_ENGINE' }],
  ['a voice containing ../', { post: { text: 'a', voice: '../../../tmp/x' } }, { status: 400, code: 'TTS_ERR_INVALID_VOICE' }],
  ['a voice containing ../ (GET)', { get: 'a&voice=..%2F..%2Fetc%2Fpasswd' }, { status: 400, code: 'TTS_ERR_INVALID_VOICE' }],
  ['an engine containing ../', { post: { text: 'a', engine: '../bin/sh' } }, { status: 400, code: 'TTS_ERR_UNKNOWN_ENGINE' }],
]

describe('bad input over HTTP', () => {
  it.each(badInputs)('%s → a clear typed error or a safe render', async (_name, how, expected) => {
    let status: number
    let body: string
    let type: string | null = null
    if ('raw' in how) {
      const res = parseRaw(await rawRequest(base, how.raw))
      status = res.status
      body = res.body
      type = /content-type: ([^\r]+)/i.exec(res.headers)?.[1] ?? null
    } else {
      const res =
        'get' in how
          ? await fetch(`${base}/v1/tts?text=${how.get}`)
          : await fetch(`${base}/v1/tts`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: typeof how.post === 'string' ? how.post : JSON.stringify(how.post),
            })
      status = res.status
      type = res.headers.get('content-type')
      body = Buffer.from(await res.arrayBuffer()).toString('latin1')
    }
    expect(status).toBe(expected.status)
    if ('code' in expected) {
      expect(type).toMatch(/^application\/json/)
      expect(JSON.parse(body)).toEqual({ code: expected.code, message: expect.any(String) })
    } else if ('get' in how) {
      expect(body.slice(0, 4)).toBe('RIFF')
    } else {
      const result = JSON.parse(body) as { key: string; path: string }
      // The text reached the cache as text: the metadata holds it, normalised, nothing executed.
      const meta = (await (await fetch(`${base}/v1/cache/${result.key}`)).json()) as { text: string; engine: string }
      expect(meta.engine).toBe('espeak-ng')
      expect(meta.text).toBe(String((how as { post: { text: string } }).post.text).replace(/\s+/g, ' ').trim())
    }
  })

  it('wrote no file outside the cache directory, and every render went into it', async () => {
    for (const file of await filesUnder(t.root)) expect(relative(t.cacheDir, file).startsWith('..'), file).toBe(false)
    expect(t.gate.started.length).toBeGreaterThan(0)
    for (const job of t.gate.started) expect(relative(t.cacheDir, job.outPath).startsWith('..')).toBe(false)
  })

  it('passes the text of a safe render verbatim (normalised) to the engine', () => {
    const texts = t.gate.started.map((j) => j.request.text)
    expect(texts).toEqual(expect.arrayContaining(['-v --help', '--output=/etc/passwd', '$(rm -rf /) and ${HOME}', 'run `reboot` now', 'line one']))
  })
})

describe('auth over HTTP', () => {
  it.each([
    ['missing', undefined, 401],
    ['wrong', 'Bearer wrong-token', 401],
    ['right', `Bearer ${TEST_TOKEN}`, 200],
  ] as const)('%s token → %i', async (_name, authorization, status) => {
    const res = await fetch(`${base}/v1/cache?voice=nobody-uses-this`, {
      method: 'DELETE',
      headers: authorization === undefined ? {} : { authorization },
    })
    expect(res.status).toBe(status)
    if (status === 401) {
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tts-cache"')
      expect(((await res.json()) as { code: string }).code).toBe('TTS_ERR_UNAUTHORIZED')
    }
  })
})

describe('caching headers over HTTP', () => {
  it('serves ETag, 304 on If-None-Match, 206 on Range, and the same bytes by key', async () => {
    const first = await fetch(`${base}/v1/tts?text=range%20test`)
    const full = Buffer.from(await first.arrayBuffer())
    const etag = first.headers.get('etag') ?? ''
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/)
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const notModified = await fetch(`${base}/v1/tts?text=range%20test`, { headers: { 'if-none-match': etag } })
    expect(notModified.status).toBe(304)
    expect((await notModified.arrayBuffer()).byteLength).toBe(0)
    const partial = await fetch(`${base}/v1/audio/${etag.slice(1, -1)}.wav`, { headers: { range: 'bytes=4-19' } })
    expect(partial.status).toBe(206)
    expect(partial.headers.get('content-range')).toBe(`bytes 4-19/${full.length}`)
    expect(Buffer.from(await partial.arrayBuffer()).equals(full.subarray(4, 20))).toBe(true)
    const head = await fetch(`${base}/v1/audio/${etag.slice(1, -1)}.wav`, { method: 'HEAD' })
    expect(head.headers.get('content-length')).toBe(String(full.length))
  })
})

describe('backpressure over HTTP', () => {
  it('answers 503 + Retry-After with a slow renderer and a tiny queue, and completes the accepted requests', async () => {
    const slow = await buildRealHttpApp({ config: { renderConcurrency: 1, queueLimit: 1 } })
    try {
      const url = await listen(slow.app)
      slow.gate.hold()
      const accepted = [fetch(`${url}/v1/tts?text=slow%201`)]
      await slow.gate.waitForStarted(1)
      accepted.push(fetch(`${url}/v1/tts?text=slow%202`))
      await eventually(() => (slow.ctx.queue.stats().waiting === 1 ? true : undefined))
      const refused = await fetch(`${url}/v1/tts?text=slow%203`)
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/)
      expect(await refused.json()).toEqual({ code: 'TTS_ERR_OVERLOADED', message: expect.any(String) })
      slow.gate.release()
      const done = await Promise.all(accepted)
      expect(done.map((r) => r.status)).toEqual([200, 200])
      for (const r of done) expect(Buffer.from(await r.arrayBuffer()).toString('ascii', 0, 4)).toBe('RIFF')
    } finally {
      await slow.close()
    }
  })
})

describe('metrics over HTTP', () => {
  it('reflect a render, a hit and a coalesced request', async () => {
    const m = await buildRealHttpApp()
    try {
      const url = await listen(m.app)
      m.gate.hold()
      const first = fetch(`${url}/v1/tts?text=counted`)
      await m.gate.waitForStarted(1)
      const second = fetch(`${url}/v1/tts?text=counted`)
      await eventually(async () => ((await m.ctx.metrics.text()).includes('tts_coalesced_waiters_total{source="http"} 1') ? true : undefined))
      m.gate.release()
      const statuses = await Promise.all([first, second].map(async (p) => (await p).headers.get('x-tts-cache')))
      expect(statuses.sort()).toEqual(['coalesced', 'rendered'])
      expect((await fetch(`${url}/v1/tts?text=counted`)).headers.get('x-tts-cache')).toBe('hit')
      const text = await (await fetch(`${url}/metrics`)).text()
      expect(text).toContain('tts_requests_total{source="http",result="rendered"} 1')
      expect(text).toContain('tts_requests_total{source="http",result="coalesced"} 1')
      expect(text).toContain('tts_requests_total{source="http",result="hit"} 1')
      expect(text).toContain('tts_coalesced_waiters_total{source="http"} 1')
      expect(text).toContain('tts_renders_total{engine="espeak-ng",result="ok"} 1')
      expect(text).toMatch(/\ntts_render_duration_seconds_count\{engine="espeak-ng",result="ok"\} 1\n/)
      expect(text).toMatch(/\ntts_cache_entries 1\n/)
    } finally {
      await m.close()
    }
  })
})
