import { copyFile, rename, rm, stat } from 'node:fs/promises'
import { once } from 'node:events'
import { ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { TtsError } from '../../src/core/errors.js'
import { listen, parseRaw, rawRequest } from '../harness/http/listening.js'
import { buildRealHttpApp, type RealHttpApp } from '../harness/http/real-app.js'
import type { HttpServerOptions } from '../../src/http/index.js'
import { TEST_TOKEN } from '../harness/http/test-app.js'
import { eventually } from '../harness/http/test-apps.js'

const TEXT = 'Thank you for calling, your call is important to us.'
const OTHER = 'Please hold the line.'
const tts = (text: string): string => `/v1/tts?text=${encodeURIComponent(text)}`

interface Served {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: Buffer
}

let service: RealHttpApp | undefined
let base = ''
/** Requests Fastify saw (its onRequest hooks ran): a request the fast path answered is not among them. */
let routed: string[] = []

async function start(config: Record<string, unknown> = {}, server: HttpServerOptions = { pressure: false }): Promise<void> {
  routed = []
  service = await buildRealHttpApp({
    config: { logLevel: 'info', ...config },
    server,
    beforeReady: (app) =>
      app.addHook('onRequest', (request, _reply, done) => {
        routed.push(`${request.method} ${request.url}`)
        done()
      }),
  })
  base = await listen(service.app)
}

async function get(path: string, init: RequestInit = {}): Promise<Served> {
  const response = await fetch(base + path, init)
  const body = Buffer.from(await response.arrayBuffer())
  return { status: response.status, headers: Object.fromEntries(response.headers), body }
}

/** The service's /metrics page (every line `name{labels} value`). */
async function metricsText(): Promise<string> {
  return (await get('/metrics')).body.toString()
}

/** Every line given is on the /metrics page. */
async function expectMetrics(...lines: string[]): Promise<void> {
  const text = await metricsText()
  for (const line of lines) expect(text).toContain(line)
}

/** The headers a hit is about (Date and the request's own id differ between any two responses). */
function comparable(headers: Record<string, string>): Record<string, string> {
  const { date: _date, 'x-request-id': _id, ...rest } = headers
  return rest
}

/** A hit whose bytes are in memory: rendered, then asked until Fastify served it from HotAudio. */
async function warm(path: string): Promise<Served> {
  const first = await get(path)
  expect(first.status).toBe(200)
  return get(path)
}

afterEach(async () => {
  await service?.close()
  service = undefined
})

describe('HTTP hits answered before Fastify routes them (hit-listener.ts)', () => {
  it('answers an in-memory GET and HEAD /v1/tts and /v1/audio hit without Fastify, with the same status, headers and bytes as Fastify', async () => {
    await start()
    await warm(tts(TEXT))
    routed = []
    const fast = await get(tts(TEXT))
    expect(routed).toEqual([])
    // A non-matching If-None-Match is Fastify's: the same hit through the general path.
    const general = await get(tts(TEXT), { headers: { 'if-none-match': '"0000"' } })
    expect(routed).toHaveLength(1)
    expect(fast.status).toBe(200)
    expect(fast.headers['x-tts-cache']).toBe('hit')
    expect(fast.headers['x-request-id']).toMatch(/^req-[0-9a-z]+$/)
    expect(comparable(fast.headers)).toEqual(comparable(general.headers))
    expect(fast.body.equals(general.body)).toBe(true)

    const key = fast.headers.etag?.replaceAll('"', '')
    routed = []
    const audio = await get(`/v1/audio/${key}.wav`)
    const head = await get(`/v1/audio/${key}.wav`, { method: 'HEAD' })
    const ttsHead = await get(tts(TEXT), { method: 'HEAD' })
    expect(routed).toEqual([])
    expect(audio.status).toBe(200)
    expect(comparable(audio.headers)).toEqual(comparable(general.headers))
    expect(audio.body.equals(general.body)).toBe(true)
    expect([head.status, head.body.length, head.headers['content-length']]).toEqual([200, 0, String(general.body.length)])
    const generalHead = await get(tts(TEXT), { method: 'HEAD', headers: { 'if-none-match': '"0000"' } })
    expect(comparable(ttsHead.headers)).toEqual(comparable(generalHead.headers))
    expect(comparable(head.headers)).toEqual(comparable(generalHead.headers))

    // A client's well-formed X-Request-Id is echoed, as Fastify's generator does.
    const traced = await get(`/v1/audio/${key}.wav`, { headers: { 'x-request-id': 'trace-42' } })
    expect(traced.headers['x-request-id']).toBe('trace-42')
  })

  it('counts what it answers in the same metrics as Fastify: one hit per /v1/tts request, every request by route', async () => {
    await start()
    const { headers } = await warm(tts(TEXT))
    const key = headers.etag?.replaceAll('"', '')
    routed = []
    for (let i = 0; i < 3; i++) await get(tts(TEXT))
    for (let i = 0; i < 2; i++) await get(`/v1/audio/${key}.wav`)
    expect(routed).toEqual([])
    // warm: 1 rendered + 1 hit through Fastify; then 3 fast /v1/tts hits (the /v1/audio ones ask no service).
    await expectMetrics(
      'tts_requests_total{source="http",result="hit"} 4',
      'tts_http_requests_total{method="GET",route="/v1/tts",status_code="200"} 5',
      'tts_http_requests_total{method="GET",route="/v1/audio/:file",status_code="200"} 2',
    )
  })

  it('leaves to Fastify a Range, a matching If-None-Match, the front\'s X-TTS-Accel, a bad Host, a query never resolved, a miss and an unknown key', async () => {
    await start()
    const { headers, body } = await warm(tts(TEXT))
    const key = headers.etag?.replaceAll('"', '') ?? ''
    routed = []
    const range = await get(tts(TEXT), { headers: { range: 'bytes=0-43' } })
    expect([range.status, range.body.length]).toEqual([206, 44])
    const notModified = await get(`/v1/audio/${key}.wav`, { headers: { 'if-none-match': headers.etag ?? '' } })
    expect(notModified.status).toBe(304)
    const accel = await get(tts(TEXT), { headers: { 'x-tts-accel': '1' } })
    expect(accel.status).toBe(200)
    const badRate = await get(`${tts(TEXT)}&rate=12345`)
    expect(badRate.status).toBe(400)
    // Fastify's request guard refuses a Host that is not hostname[:port] (before this test's hook).
    const badHost = parseRaw(await rawRequest(base, `GET /v1/audio/${key}.wav HTTP/1.1\r\nHost: bad host!\r\nConnection: close\r\n\r\n`))
    expect(badHost.status).toBe(400)
    const unknown = await get(`/v1/audio/${'0'.repeat(64)}.wav`)
    expect(unknown.status).toBe(404)
    const miss = await get(tts(OTHER))
    expect([miss.status, miss.headers['x-tts-cache']]).toEqual([200, 'rendered'])
    expect(routed).toHaveLength(6)
    // The same query string, now resolved and in memory, is the fast path's.
    routed = []
    expect((await get(tts(TEXT))).body.equals(body)).toBe(true)
    expect(routed).toEqual([])
  })

  it('never answers from memory a file that is gone or was replaced on disk: Fastify finds out and answers from the disk', async () => {
    await start()
    const { headers } = await warm(tts(TEXT))
    const other = await warm(tts(OTHER))
    const key = headers.etag?.replaceAll('"', '') ?? ''
    const path = `${service?.cacheDir}/${key.slice(0, 2)}/${key.slice(2, 4)}/${key}.wav`
    const otherKey = other.headers.etag?.replaceAll('"', '') ?? ''
    const otherPath = `${service?.cacheDir}/${otherKey.slice(0, 2)}/${otherKey.slice(2, 4)}/${otherKey}.wav`

    // Replaced behind the service (another file renamed over it): the new bytes, not the remembered ones.
    await copyFile(otherPath, `${path}.tmp`)
    await rename(`${path}.tmp`, path)
    routed = []
    const replaced = await get(`/v1/audio/${key}.wav`)
    expect(routed).toHaveLength(1)
    expect([replaced.status, replaced.body.length]).toEqual([200, (await stat(path)).size])
    expect(replaced.body.equals(other.body)).toBe(true)

    // Deleted: a 404 for /v1/audio (it never renders), a new render for /v1/tts.
    await rm(path)
    routed = []
    expect((await get(`/v1/audio/${key}.wav`)).status).toBe(404)
    const again = await get(tts(TEXT))
    expect([again.status, again.headers['x-tts-cache']]).toEqual([200, 'rendered'])
    expect(routed).toHaveLength(2)
  })

  it('steps aside while the token guards every route, at a log level that writes a line per request, and under pressure', async () => {
    await start({ authAllRoutes: true })
    const token = { authorization: `Bearer ${TEST_TOKEN}` }
    expect((await get(tts(TEXT), { headers: token })).status).toBe(200)
    expect((await get(tts(TEXT), { headers: token })).headers['x-tts-cache']).toBe('hit')
    routed = []
    // In memory, and still Fastify's: without the token a 401, with it a hit.
    const denied = await get(tts(TEXT))
    expect(denied.status).toBe(401)
    const allowed = await get(tts(TEXT), { headers: token })
    const allowedAgain = await get(tts(TEXT), { headers: token })
    expect([allowed.status, allowedAgain.status, allowedAgain.headers['x-tts-cache']]).toEqual([200, 200, 'hit'])
    // The 401 never reached the test's hook (the request guard, an earlier onRequest hook, threw it).
    expect(denied.body.toString()).toContain('TTS_ERR_UNAUTHORIZED')
    expect(routed).toHaveLength(2)
    await service?.close()

    await start({ logLevel: 'debug' })
    await warm(tts(TEXT))
    routed = []
    await get(tts(TEXT))
    expect(routed).toHaveLength(1)
    expect(service?.logs.lines.some((line) => line.includes('"msg":"request completed"'))).toBe(true)
    await service?.close()

    // Under pressure (the event loop lagged): Fastify sheds, and the in-memory hit is shed too.
    await start({}, { pressure: { maxEventLoopDelayMs: 20, sampleIntervalMs: 50, retryAfterSeconds: 7 } })
    await warm(tts(TEXT))
    routed = []
    const blockedUntil = performance.now() + 400
    while (performance.now() < blockedUntil);
    const shed = await eventually(async () => {
      const answer = await get(tts(TEXT))
      return answer.status === 503 ? answer : undefined
    })
    expect(shed.headers['retry-after']).toBe('7')
    expect(shed.body.toString()).toContain('TTS_ERR_UNDER_PRESSURE')
    // and once the lag is over, the hit is the fast path's again.
    await eventually(async () => ((await get(tts(TEXT))).status === 200 ? true : undefined))
    routed = []
    expect((await get(tts(TEXT))).status).toBe(200)
    expect(routed).toEqual([])
  })

  describe('waiters of a render in flight (issue 19, goal 3)', () => {
    /** `n` requests for `text` sent together while the render that `leader` started is held; resolves once all have joined it. */
    async function joinHeld(text: string, n: number, init: RequestInit = {}): Promise<{ leader: Promise<Served>; waiters: Promise<Served>[] }> {
      const gate = service?.gate
      gate?.hold()
      const leader = get(tts(text))
      await gate?.waitForStarted(1)
      const waiters = Array.from({ length: n }, () => get(tts(text), init).catch((err: unknown) => ({ status: -1, headers: {}, body: Buffer.from(String(err)) })))
      await eventually(async () => ((await coalescedWaiters()) >= n ? true : undefined))
      return { leader, waiters }
    }

    async function coalescedWaiters(): Promise<number> {
      const line = (await metricsText()).split('\n').find((l) => l.startsWith('tts_coalesced_waiters_total{source="http"}'))
      return Number(line?.split(' ').at(-1) ?? 0)
    }

    it('joins the render in the listener and answers every waiter from memory after the request that rendered: one render, the same bytes, counted as coalesced', async () => {
      await start()
      const WAITERS = 12
      // The order the service writes response heads in (the one writer of every response).
      const order: string[] = []
      const writeHead = ServerResponse.prototype.writeHead
      ServerResponse.prototype.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
        const raw = args.find((a) => Array.isArray(a)) as string[] | undefined
        const fromFastify = this.getHeader('x-tts-cache')
        order.push(String(fromFastify ?? raw?.[raw.indexOf('x-tts-cache') + 1]))
        return writeHead.apply(this, args)
      } as typeof writeHead
      try {
        const { leader, waiters } = await joinHeld(TEXT, WAITERS)
        // Joined in the listener: Fastify saw the request that rendered and the metrics scrapes, no waiter.
        expect(routed.filter((r) => r.includes('/v1/tts'))).toHaveLength(1)
        order.length = 0
        service?.gate.release()
        const answers = await Promise.all([leader, ...waiters])
        expect(answers.map((a) => a.status)).toEqual(Array(WAITERS + 1).fill(200))
        expect(answers.map((a) => a.headers['x-tts-cache'])).toEqual(['rendered', ...Array(WAITERS).fill('coalesced')])
        for (const a of answers) expect(a.body.equals(answers[0]?.body ?? Buffer.alloc(0))).toBe(true)
        expect(comparable(answers[1]?.headers ?? {})).toEqual({ ...comparable(answers[0]?.headers ?? {}), 'x-tts-cache': 'coalesced' })
        // The request that rendered is answered first, then its waiters.
        expect(order.slice(0, WAITERS + 1)).toEqual(['rendered', ...Array(WAITERS).fill('coalesced')])
      } finally {
        ServerResponse.prototype.writeHead = writeHead
      }
      expect(service?.gate.started).toHaveLength(1)
      expect(routed.filter((r) => r.includes('/v1/tts'))).toHaveLength(1)
      await expectMetrics(
        `tts_requests_total{source="http",result="coalesced"} ${WAITERS}`,
        'tts_requests_total{source="http",result="rendered"} 1',
        `tts_http_requests_total{method="GET",route="/v1/tts",status_code="200"} ${WAITERS + 1}`,
      )
    })

    it('hands a failed render to Fastify, which answers every waiter with its error: no second render', async () => {
      await start()
      service?.gate.failNext(new TtsError('TTS_ERR_RENDER_FAILED', { args: ['espeak-ng', 'exit code 1'] }))
      const { leader, waiters } = await joinHeld(TEXT, 5)
      service?.gate.release()
      const answers = await Promise.all([leader, ...waiters])
      expect(answers.map((a) => a.status)).toEqual(Array(6).fill(502))
      for (const a of answers) expect(JSON.parse(a.body.toString()).code).toBe('TTS_ERR_RENDER_FAILED')
      expect(service?.gate.started).toHaveLength(1)
      // Fastify answered them (its hooks ran), and the service counted each failure once.
      expect(routed.filter((r) => r.includes('/v1/tts'))).toHaveLength(6)
      await expectMetrics(
        'tts_errors_total{source="http",code="TTS_ERR_RENDER_FAILED"} 6',
        'tts_http_requests_total{method="GET",route="/v1/tts",status_code="502"} 6',
      )
    })

    it("bounds a waiter's wait by TTS_HTTP_DEADLINE_MS (504 with Retry-After, through Fastify); the render goes on and the next request is a hit", async () => {
      await start({ httpDeadlineMs: 300 })
      const { leader, waiters } = await joinHeld(TEXT, 4)
      const answers = await Promise.all([leader, ...waiters])
      expect(answers.map((a) => a.status)).toEqual(Array(5).fill(504))
      for (const a of answers) {
        expect(JSON.parse(a.body.toString()).code).toBe('TTS_ERR_DEADLINE_EXCEEDED')
        expect(a.headers['retry-after']).toMatch(/^\d+$/)
      }
      service?.gate.release()
      const after = await eventually(async () => {
        const answer = await get(tts(TEXT))
        return answer.headers['x-tts-cache'] === 'hit' ? answer : undefined
      })
      expect(after.status).toBe(200)
      expect(service?.gate.started).toHaveLength(1)
    })

    it('lets a waiter go when its client does, and answers the others', async () => {
      await start()
      const { leader, waiters } = await joinHeld(TEXT, 3)
      const { hostname, port } = new URL(base)
      const leaving = connect({ host: hostname, port: Number(port) })
      await once(leaving, 'connect')
      leaving.write(`GET ${tts(TEXT)} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`)
      await eventually(async () => ((await coalescedWaiters()) >= 4 ? true : undefined))
      leaving.destroy()
      await eventually(async () => ((await metricsText()).includes('tts_errors_total{source="http",code="TTS_ERR_ABORTED"} 1') ? true : undefined))
      service?.gate.release()
      const answers = await Promise.all([leader, ...waiters])
      expect(answers.map((a) => [a.status, a.headers['x-tts-cache']])).toEqual([[200, 'rendered'], ...Array(3).fill([200, 'coalesced'])])
      expect(service?.gate.started).toHaveLength(1)
    })

    it('hands the rendered result to Fastify when its bytes are not kept in memory (the in-memory cache off): Fastify streams it from disk, still coalesced', async () => {
      await start({ httpHotBytes: 0 })
      const { leader, waiters } = await joinHeld(TEXT, 3)
      service?.gate.release()
      const answers = await Promise.all([leader, ...waiters])
      expect(answers.map((a) => [a.status, a.headers['x-tts-cache']])).toEqual([[200, 'rendered'], ...Array(3).fill([200, 'coalesced'])])
      for (const a of answers) expect(a.body.equals(answers[0]?.body ?? Buffer.alloc(0))).toBe(true)
      // Joined in the listener (counted once each), answered by Fastify: its hook saw all four.
      expect(routed.filter((r) => r.includes('/v1/tts'))).toHaveLength(4)
      expect(service?.gate.started).toHaveLength(1)
      await expectMetrics('tts_requests_total{source="http",result="coalesced"} 3', 'tts_http_requests_total{method="GET",route="/v1/tts",status_code="200"} 4')
    })

    it('hands the rendered result to Fastify when the server began closing meanwhile: still coalesced, the same bytes, the connection ended', async () => {
      await start()
      const { leader, waiters } = await joinHeld(TEXT, 3)
      const closed = service?.app.close()
      service?.gate.release()
      const answers = await Promise.all([leader, ...waiters])
      await closed
      expect(answers.map((a) => [a.status, a.headers['x-tts-cache'], a.headers.connection])).toEqual([[200, 'rendered', 'close'], ...Array(3).fill([200, 'coalesced', 'close'])])
      for (const a of answers) expect(a.body.equals(answers[0]?.body ?? Buffer.alloc(0))).toBe(true)
      expect(routed.filter((r) => r.includes('/v1/tts'))).toHaveLength(4)
      expect(service?.gate.started).toHaveLength(1)
    })
  })
})
