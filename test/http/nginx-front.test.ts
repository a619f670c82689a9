/**
 * The shipped nginx front (deploy/nginx/tts-cache.conf.template) run by the real nginx in front of
 * the real service (buildApp: espeak-ng, DiskStore) listening on 127.0.0.1. Which of the two
 * answered is proven, not assumed: every request that reaches the service is recorded (with the
 * X-Accel-Redirect it answered with), and nginx's access log names the upstream it used.
 *
 * nginx must be installed where tests are strict (CI, TTS_TEST_STRICT=1: scripts/bootstrap.sh test
 * installs nginx-light): there a missing nginx fails every test here. Elsewhere they are skipped,
 * saying why.
 */
import type { IncomingMessage } from 'node:http'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it, type TestContext } from 'vitest'
import { ACCEL_REQUEST_HEADER } from '../../src/http/accel-redirect.js'
import { buildRealHttpApp, type RealHttpApp } from '../harness/http/real-app.js'
import { NGINX_BIN, startNginxFront, type NginxFront } from '../harness/http/nginx-front.js'
import { strictTestRun } from '../harness/store/tmpfs.js'
import { TEST_TOKEN } from '../harness/http/test-app.js'
import { eventually } from '../harness/http/test-apps.js'
import { listen, parseRaw, rawRequest } from '../harness/http/listening.js'

const PREFIX = '/_tts_cache/'
const RUN = process.pid.toString(36)
/** The headers a WAV response carries whoever sends it. */
const AUDIO_HEADERS = ['content-type', 'content-length', 'etag', 'cache-control', 'accept-ranges', 'x-tts-cache'] as const

interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly accelAsked: string | undefined
  /** The service's X-Accel-Redirect answer (set when it sends its response). */
  accelAnswer: string | undefined
}

let skipSaid = false

function requireNginx(ctx: TestContext): void {
  if (NGINX_BIN !== undefined) return
  const reason = 'nginx is not installed (/usr/sbin/nginx; apt-get install nginx-light, as scripts/bootstrap.sh test does)'
  if (strictTestRun) throw new Error(`${reason} (CI / TTS_TEST_STRICT=1: this suite may not be skipped)`)
  if (!skipSaid) process.stderr.write(`\n*** test/http/nginx-front: SKIPPING every test: ${reason}; CI is unset, so skipped here (a CI run fails) ***\n\n`)
  skipSaid = true
  ctx.skip(`${reason}; CI unset, so skipped (a strict CI run fails instead)`)
}

const headersOf = (res: Response): Record<string, string | null> => Object.fromEntries(AUDIO_HEADERS.map((name) => [name, res.headers.get(name)]))

describe('nginx front (deploy/nginx) in front of the real service', () => {
  let service: RealHttpApp
  let serviceBase = ''
  let front: NginxFront
  let root = ''
  const seen: SeenRequest[] = []
  const ttsUrl = (text: string): string => `/v1/tts?text=${encodeURIComponent(text)}`
  const layoutPath = (cacheDir: string, key: string): string => join(cacheDir, key.slice(0, 2), key.slice(2, 4), `${key}.wav`)

  /** Renders `text` through the front (a miss, so the service streams it); its key. */
  async function render(text: string): Promise<string> {
    const res = await fetch(`${front.base}${ttsUrl(text)}`)
    await res.arrayBuffer()
    expect(res.status).toBe(200)
    expect(res.headers.get('x-tts-cache')).toBe('rendered')
    return String(res.headers.get('etag')).slice(1, -1)
  }

  beforeAll(async () => {
    if (NGINX_BIN === undefined) return
    root = await mkdtemp(join(tmpdir(), 'tts-nginx-front-'))
    const entries = new WeakMap<IncomingMessage, SeenRequest>()
    service = await buildRealHttpApp({
      config: { httpAccelRedirect: PREFIX, logLevel: 'warn' },
      // What the service answered with, before it is written.
      beforeReady: (app) =>
        app.addHook('onSend', async (request, reply) => {
          const answer = reply.getHeader('x-accel-redirect')
          const entry = entries.get(request.raw)
          if (entry !== undefined) entry.accelAnswer = answer === undefined ? undefined : String(answer)
        }),
    })
    // Every request that reaches the service's socket, even one Fastify refuses before routing.
    // Before the service's own listener: a hit is answered within it, synchronously (its onSend then finds the entry).
    service.app.server.prependListener('request', (req: IncomingMessage) => {
      const accelAsked = req.headers[ACCEL_REQUEST_HEADER]
      const entry: SeenRequest = { method: req.method ?? '', url: req.url ?? '', accelAsked: typeof accelAsked === 'string' ? accelAsked : undefined, accelAnswer: undefined }
      entries.set(req, entry)
      seen.push(entry)
    })
    serviceBase = await listen(service.app)
    const dir = join(root, 'nginx')
    await mkdir(dir)
    front = await startNginxFront({ cacheDir: service.cacheDir, serviceAddr: new URL(serviceBase).host, dir })
  })

  afterAll(async () => {
    await front?.stop()
    await service?.close()
    if (root !== '') await rm(root, { recursive: true, force: true })
  })

  beforeEach((ctx) => {
    requireNginx(ctx)
    seen.length = 0
  })

  it('serves a /v1/audio hit itself, byte-identical to the service, with the service headers (the service sees nothing)', async () => {
    const key = await render(`A cached prompt for the audio route, run ${RUN}.`)
    const fromService = await fetch(`${serviceBase}/v1/audio/${key}.wav`)
    const serviceBytes = Buffer.from(await fromService.arrayBuffer())
    expect(serviceBytes.subarray(0, 4).toString('ascii')).toBe('RIFF')
    seen.length = 0

    const res = await fetch(`${front.base}/v1/audio/${key}.wav`)
    const bytes = Buffer.from(await res.arrayBuffer())
    expect(res.status).toBe(200)
    expect(bytes.equals(serviceBytes)).toBe(true)
    expect(bytes.equals(await readFile(layoutPath(service.cacheDir, key)))).toBe(true)
    expect(headersOf(res)).toEqual(headersOf(fromService))
    expect(res.headers.get('etag')).toBe(`"${key}"`)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('last-modified')).toBeNull()
    expect(seen).toEqual([])
    // Its access-log line names no upstream (written once the answer went out: waited for; a line that never comes times the test out).
    await eventually(async () => ((await front.accessLog()).includes(`200 - GET /v1/audio/${key}.wav`) ? true : undefined))
  })

  it('answers HEAD, If-None-Match (304) and a Range for /v1/audio itself, as the service does', async () => {
    const key = await render(`Heads, tags and ranges, run ${RUN}.`)
    const wav = await readFile(layoutPath(service.cacheDir, key))
    const url = `/v1/audio/${key}.wav`
    const ask = async (base: string, init: RequestInit): Promise<{ res: Response; body: Buffer }> => {
      const res = await fetch(`${base}${url}`, init)
      return { res, body: Buffer.from(await res.arrayBuffer()) }
    }
    const cases: RequestInit[] = [
      { method: 'HEAD' },
      { headers: { 'if-none-match': `"${key}"` } },
      { headers: { 'if-none-match': `"0000", W/"${key}"` } },
      { headers: { 'if-none-match': '*' } },
      { headers: { 'if-none-match': `"${'0'.repeat(64)}"` } },
      { headers: { range: 'bytes=0-99' } },
      { headers: { range: 'bytes=-10', 'if-range': `"${key}"` } },
    ]
    for (const init of cases) {
      const direct = await ask(serviceBase, init)
      seen.length = 0
      const viaFront = await ask(front.base, init)
      const label = JSON.stringify(init)
      expect(viaFront.res.status, label).toBe(direct.res.status)
      expect(viaFront.body.equals(direct.body), label).toBe(true)
      expect(viaFront.res.headers.get('etag'), label).toBe(`"${key}"`)
      expect(viaFront.res.headers.get('cache-control'), label).toBe('public, max-age=31536000, immutable')
      expect(seen, label).toEqual([])
      if (viaFront.res.status === 304) expect(viaFront.res.headers.get('content-type'), label).toBeNull()
      if (viaFront.res.status === 200) expect(headersOf(viaFront.res), label).toEqual(headersOf(direct.res))
      if (viaFront.res.status === 206) {
        // nginx sends no Accept-Ranges with a 206 (its 200 has it; optional either way, RFC 9110 §14.3).
        expect({ ...headersOf(viaFront.res), 'accept-ranges': 'bytes' }, label).toEqual(headersOf(direct.res))
        expect(viaFront.res.headers.get('content-range'), label).toBe(direct.res.headers.get('content-range'))
      }
    }
    expect((await ask(front.base, { method: 'HEAD' })).body.length).toBe(0)
    expect((await ask(front.base, { headers: { range: 'bytes=0-99' } })).body.equals(wav.subarray(0, 100))).toBe(true)
  })

  it('falls back to the service for a /v1/audio miss (also when If-None-Match names the missing key), a POST and an If-Match / If-Unmodified-Since', async () => {
    const missing = 'ab'.repeat(32)
    for (const init of [{}, { headers: { 'if-none-match': `"${missing}"` } }, { method: 'POST' }] as RequestInit[]) {
      const direct = await fetch(`${serviceBase}/v1/audio/${missing}.wav`, init)
      const directBody = await direct.text()
      seen.length = 0
      const res = await fetch(`${front.base}/v1/audio/${missing}.wav`, init)
      expect(res.status).toBe(direct.status)
      expect(res.status).toBe(404)
      expect(JSON.parse(await res.text()).code).toBe(JSON.parse(directBody).code)
      expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([`${init.method ?? 'GET'} /v1/audio/${missing}.wav`])
    }
    // Only GET and HEAD without a precondition nginx would judge by its own tag are nginx's, also for a file it has.
    const key = await render(`Not for posting, run ${RUN}.`)
    const preconditions: RequestInit[] = [
      { method: 'POST' },
      { headers: { 'if-match': `"${key}"` } },
      { headers: { 'if-unmodified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' } },
    ]
    for (const init of preconditions) {
      const direct = await fetch(`${serviceBase}/v1/audio/${key}.wav`, init)
      const directBody = Buffer.from(await direct.arrayBuffer())
      seen.length = 0
      const res = await fetch(`${front.base}/v1/audio/${key}.wav`, init)
      const body = Buffer.from(await res.arrayBuffer())
      expect(res.status, JSON.stringify(init)).toBe(direct.status)
      expect(body.equals(directBody), JSON.stringify(init)).toBe(true)
      expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([`${init.method ?? 'GET'} /v1/audio/${key}.wav`])
    }
  })

  it('serves a /v1/tts hit through X-Accel-Redirect after the service lookup: same bytes and service headers', async () => {
    const text = `A cached prompt for the phrase route, run ${RUN}.`
    const key = await render(text)
    const direct = await fetch(`${serviceBase}${ttsUrl(text)}`)
    const directBytes = Buffer.from(await direct.arrayBuffer())
    expect(direct.headers.get('x-tts-cache')).toBe('hit')
    seen.length = 0

    const res = await fetch(`${front.base}${ttsUrl(text)}`, { headers: { 'x-request-id': `front-${RUN}` } })
    const bytes = Buffer.from(await res.arrayBuffer())
    expect(res.status).toBe(200)
    expect(bytes.equals(directBytes)).toBe(true)
    expect(headersOf(res)).toEqual(headersOf(direct))
    expect(res.headers.get('x-tts-cache')).toBe('hit')
    expect(res.headers.get('x-request-id')).toBe(`front-${RUN}`)
    expect(res.headers.get('x-accel-redirect')).toBeNull()
    // One lookup in the service, answered with the layout path and no body; nginx sent the file.
    expect(seen).toEqual([{ method: 'GET', url: ttsUrl(text), accelAsked: '1', accelAnswer: `${PREFIX}${key.slice(0, 2)}/${key.slice(2, 4)}/${key}.wav` }])

    seen.length = 0
    const head = await fetch(`${front.base}${ttsUrl(text)}`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(headersOf(head)).toEqual(headersOf(direct))
    const range = await fetch(`${front.base}${ttsUrl(text)}`, { headers: { range: 'bytes=10-19' } })
    expect(range.status).toBe(206)
    expect(Buffer.from(await range.arrayBuffer()).equals(directBytes.subarray(10, 20))).toBe(true)
    // The lookup was remembered (X-Accel-Expires): HEAD and Range of the same query never reach the service.
    expect(seen).toEqual([])
    expect(range.headers.get('x-accel-expires')).toBeNull()
    // A tag the client holds: the service answers 304 itself, before any lookup.
    const conditional = await fetch(`${front.base}${ttsUrl(text)}`, { headers: { 'if-none-match': `"${key}"` } })
    expect(conditional.status).toBe(304)
  })

  it('remembers a /v1/tts hit lookup, but sends only a file on disk now: purged, deleted or refreshed, the answer is the service\'s, never an error or old bytes', async () => {
    const text = `Remembered, then purged, run ${RUN}.`
    const url = `${front.base}${ttsUrl(text)}`
    const ask = async (init: RequestInit = {}): Promise<{ res: Response; body: Buffer }> => {
      const res = await fetch(url, init)
      return { res, body: Buffer.from(await res.arrayBuffer()) }
    }
    const key = await render(text)
    const wavPath = layoutPath(service.cacheDir, key)
    seen.length = 0
    const first = await ask({ headers: { 'x-request-id': `one-${RUN}` } })
    expect(first.res.headers.get('x-tts-cache')).toBe('hit')
    expect(seen.map((s) => [s.url, s.accelAsked, s.accelAnswer !== undefined])).toEqual([[ttsUrl(text), '1', true]])
    seen.length = 0
    const second = await ask({ headers: { 'x-request-id': `two-${RUN}` } })
    expect(second.res.status).toBe(200)
    expect(second.body.equals(await readFile(wavPath))).toBe(true)
    expect(headersOf(second.res)).toEqual(headersOf(first.res))
    // Its own id (not the remembered answer's), and nothing of the service's seen.
    expect(second.res.headers.get('x-request-id')).toBe(`two-${RUN}`)
    expect((await ask()).res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/)
    expect(seen).toEqual([])

    // A token, a precondition or a client's no-cache: the service is asked every time.
    for (const headers of [{ authorization: `Bearer ${TEST_TOKEN}` }, { 'if-none-match': '"nope"' }, { 'cache-control': 'no-cache' }] as Record<string, string>[]) {
      seen.length = 0
      const asked = await ask({ headers })
      expect(asked.res.status, JSON.stringify(headers)).toBe(200)
      expect(seen.length, JSON.stringify(headers)).toBe(1)
    }

    // Purged: the remembered answer names a file that is gone; the service renders it again.
    const purge = await fetch(`${front.base}/v1/cache/${key}`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_TOKEN}` } })
    expect(purge.status).toBe(200)
    seen.length = 0
    const afterPurge = await ask()
    expect(afterPurge.res.status).toBe(200)
    expect(afterPurge.res.headers.get('x-tts-cache')).toBe('rendered')
    expect(afterPurge.body.equals(await readFile(wavPath))).toBe(true)
    expect(seen.map((s) => [s.accelAsked, s.accelAnswer !== undefined])).toEqual([[undefined, false]])

    // Deleted behind the store's back: the same.
    await rm(wavPath)
    seen.length = 0
    const afterDelete = await ask()
    expect(afterDelete.res.status).toBe(200)
    expect(afterDelete.res.headers.get('x-tts-cache')).toBe('rendered')
    expect(afterDelete.body.equals(await readFile(wavPath))).toBe(true)
    expect(seen.length).toBe(1)

    // Refreshed (a new render replaces the file): the remembered lookup sends the new bytes.
    const refreshed = await fetch(`${url}&refresh=true`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })
    const newBytes = Buffer.from(await refreshed.arrayBuffer())
    expect(refreshed.headers.get('x-tts-cache')).toBe('rendered')
    seen.length = 0
    const afterRefresh = await ask()
    expect(afterRefresh.res.headers.get('x-tts-cache')).toBe('hit')
    expect(afterRefresh.body.equals(newBytes)).toBe(true)
    expect(afterRefresh.body.equals(await readFile(wavPath))).toBe(true)
    expect(seen).toEqual([])

    // POST /v1/tts takes the same way (through the lookup server) and is never remembered.
    for (let i = 0; i < 2; i++) {
      const placed = await fetch(`${front.base}/v1/tts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) })
      expect(placed.status).toBe(200)
      expect((await placed.json()) as unknown).toMatchObject({ key })
    }
    expect(seen.map((s) => s.method)).toEqual(['POST', 'POST'])
    expect(await front.errorLog()).not.toMatch(/\[(?:alert|emerg|crit)\]/)
  })

  it('answers a remembered /v1/tts hit in the front itself (no upstream: not the lookup server, not the service), and a POST of the same query is never answered from it', async () => {
    const text = `Remembered and answered without a hop, run ${RUN}.`
    const key = await render(text)
    await (await fetch(`${front.base}${ttsUrl(text)}`)).arrayBuffer()
    // nginx writes a request's access-log line after its last byte went out, so a client can have
    // the whole answer first: wait for the line of the request above before counting from here.
    const linesFor = (log: string): string[] => log.split('\n').filter((line) => line.endsWith(` ${ttsUrl(text)}`))
    await eventually(async () => (linesFor(await front.accessLog()).length > 0 ? true : undefined))
    seen.length = 0
    const logBefore = (await front.accessLog()).length
    const res = await fetch(`${front.base}${ttsUrl(text)}`, { headers: { 'x-request-id': `nohop-${RUN}` } })
    const bytes = Buffer.from(await res.arrayBuffer())
    expect(res.status).toBe(200)
    expect(bytes.equals(await readFile(layoutPath(service.cacheDir, key)))).toBe(true)
    expect(res.headers.get('x-tts-cache')).toBe('hit')
    expect(res.headers.get('etag')).toBe(`"${key}"`)
    expect(res.headers.get('x-request-id')).toBe(`nohop-${RUN}`)
    expect(seen).toEqual([])
    // One line in the access log, naming no upstream: the file went out with no request to anyone
    // (through the lookup server it would be two: the front's, naming it, and the lookup server's).
    const logged = await eventually(async () => {
      const lines = linesFor((await front.accessLog()).slice(logBefore))
      return lines.length > 0 ? lines : undefined
    })
    expect(logged).toEqual([`200 - GET ${ttsUrl(text)}`])

    // The same query as a POST (its body says something else): the service answers it, not the remembered GET lookup.
    const other = `Something else entirely, run ${RUN}.`
    const posted = await fetch(`${front.base}${ttsUrl(text)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: other }) })
    const placed = (await posted.json()) as { key?: string }
    expect(posted.status).toBe(200)
    expect(placed.key).not.toBe(key)
    expect(seen.map((s) => s.method)).toEqual(['POST'])
  })

  it('keeps the WAV of a remembered hit open between requests, yet never sends it once deleted or replaced on disk (checked on every request)', async () => {
    const text = `Kept open, then deleted and replaced, run ${RUN}.`
    const url = `${front.base}${ttsUrl(text)}`
    const key = await render(text)
    const wavPath = layoutPath(service.cacheDir, key)
    const original = await readFile(wavPath)
    // Remembered, then sent from the front several times: nginx now holds the file open.
    for (let i = 0; i < 3; i++) {
      const res = await fetch(url)
      expect(Buffer.from(await res.arrayBuffer()).equals(original)).toBe(true)
      expect(res.headers.get('x-tts-cache')).toBe('hit')
    }

    // Replaced the way the store writes (a temp file renamed over it): the next answer is the new bytes.
    const replacement = Buffer.concat([original.subarray(0, 44), Buffer.alloc(original.length - 44, 7)])
    const temp = `${wavPath}.${process.pid}.replace.tmp.wav`
    await writeFile(temp, replacement)
    await rename(temp, wavPath)
    seen.length = 0
    const afterReplace = await fetch(url)
    expect(Buffer.from(await afterReplace.arrayBuffer()).equals(replacement)).toBe(true)
    expect(seen).toEqual([])

    // Deleted behind the store's back right after a hit: not the open file, the service renders it again.
    await rm(wavPath)
    seen.length = 0
    const afterDelete = await fetch(url)
    const rendered = Buffer.from(await afterDelete.arrayBuffer())
    expect(afterDelete.status).toBe(200)
    expect(afterDelete.headers.get('x-tts-cache')).toBe('rendered')
    expect(rendered.equals(replacement)).toBe(false)
    expect(rendered.equals(await readFile(wavPath))).toBe(true)
    expect(seen.map((s) => [s.accelAsked, s.accelAnswer !== undefined])).toEqual([[undefined, false]])
    expect(await front.errorLog()).not.toMatch(/\[(?:alert|emerg|crit)\]/)
  })

  it('renders a /v1/tts miss through the service, streamed as without the front', async () => {
    seen.length = 0
    const text = `A new sentence nobody asked for before, run ${RUN}.`
    const res = await fetch(`${front.base}${ttsUrl(text)}`)
    const bytes = Buffer.from(await res.arrayBuffer())
    expect(res.status).toBe(200)
    expect(res.headers.get('x-tts-cache')).toBe('rendered')
    expect(bytes.subarray(0, 4).toString('ascii')).toBe('RIFF')
    const key = String(res.headers.get('etag')).slice(1, -1)
    expect(bytes.equals(await readFile(layoutPath(service.cacheDir, key)))).toBe(true)
    expect(seen).toEqual([{ method: 'GET', url: ttsUrl(text), accelAsked: '1', accelAnswer: undefined }])
  })

  it('refuses odd keys and traversal (400/404) and never serves a sidecar, temp file or anything outside the layout', async () => {
    const key = await render(`Nothing else on this disk is reachable, run ${RUN}.`)
    const shard = dirname(layoutPath(service.cacheDir, key))
    const tempName = `${key}.${process.pid}.abcdef.tmp.wav`
    await writeFile(join(shard, tempName), 'TEMP-BYTES')
    const strayKey = 'cd'.repeat(32)
    await writeFile(join(service.cacheDir, `${strayKey}.wav`), 'STRAY-BYTES')
    await writeFile(join(root, 'secret.txt'), 'SECRET-BYTES')
    const sidecar = await readFile(join(shard, `${key}.json`), 'utf8')
    const paths = [
      `/v1/audio/${key.toUpperCase()}.wav`,
      `/v1/audio/${key}.json`,
      `/v1/audio/${key}.lock`,
      `/v1/audio/${tempName}`,
      `/v1/audio/${key}.wav.tmp`,
      `/v1/audio/${key.slice(0, 2)}/${key.slice(2, 4)}/${key}.wav`,
      `/v1/audio/${strayKey}.wav`,
      `/v1/audio/${key.slice(0, 63)}.wav`,
      `/v1/audio/../../../../../../etc/passwd`,
      `/v1/audio/..%2f..%2f..%2fsecret.txt`,
      `/v1/audio/%2e%2e/%2e%2e/secret.txt`,
      `/v1/audio/${key}.wav%00.json`,
      `/v1/audio/${key.slice(0, 2)}%2f${key.slice(2, 4)}%2f${key}.wav`,
      `${PREFIX}${key.slice(0, 2)}/${key.slice(2, 4)}/${key}.wav`,
      `/_tts_not_modified/${key.slice(0, 2)}/${key.slice(2, 4)}/${key}.wav`,
    ]
    for (const path of paths) {
      // Raw bytes on the socket: a client library would normalise the dots away before sending.
      const answer = parseRaw(await rawRequest(front.base, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`))
      expect([400, 404], path).toContain(answer.status)
      for (const secret of ['RIFF', 'TEMP-BYTES', 'STRAY-BYTES', 'SECRET-BYTES', 'root:', sidecar]) expect(answer.body, `${path}: ${secret}`).not.toContain(secret)
    }
  })

  it('falls back once a purge removed the file (and to the service streaming when the front cannot find a hit the service found)', async () => {
    const text = `Purged and asked again, run ${RUN}.`
    const key = await render(text)
    expect((await fetch(`${front.base}/v1/audio/${key}.wav`)).status).toBe(200)
    const purge = await fetch(`${front.base}/v1/cache/${key}`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_TOKEN}` } })
    expect(purge.status).toBe(200)
    seen.length = 0
    expect((await fetch(`${front.base}/v1/audio/${key}.wav`)).status).toBe(404)
    expect(seen.map((s) => s.url)).toEqual([`/v1/audio/${key}.wav`])
    const again = await fetch(`${front.base}${ttsUrl(text)}`)
    await again.arrayBuffer()
    expect(again.headers.get('x-tts-cache')).toBe('rendered')

    // A second front looking at another (empty) directory: every hit the service hands over is
    // missing there, so the front asks the service again without the accel header and it streams.
    const dir = join(root, 'nginx-elsewhere')
    await mkdir(dir)
    const elsewhere = await startNginxFront({ cacheDir: join(root, 'empty-cache'), serviceAddr: new URL(serviceBase).host, dir })
    try {
      seen.length = 0
      const res = await fetch(`${elsewhere.base}${ttsUrl(text)}`)
      const bytes = Buffer.from(await res.arrayBuffer())
      expect(res.status).toBe(200)
      expect(res.headers.get('x-tts-cache')).toBe('hit')
      expect(bytes.equals(await readFile(layoutPath(service.cacheDir, key)))).toBe(true)
      expect(seen.map((s) => [s.accelAsked, s.accelAnswer !== undefined])).toEqual([
        ['1', true],
        [undefined, false],
      ])
    } finally {
      await elsewhere.stop()
    }
  })

  it('keeps serving /v1/audio hits from the cache directory with the service stopped (and answers 502 for the rest)', async () => {
    const key = await render(`Still here when the service is gone, run ${RUN}.`)
    const wav = await readFile(layoutPath(service.cacheDir, key))
    await service.app.close()
    const res = await fetch(`${front.base}/v1/audio/${key}.wav`)
    expect(res.status).toBe(200)
    expect(Buffer.from(await res.arrayBuffer()).equals(wav)).toBe(true)
    const tts = await fetch(`${front.base}${ttsUrl('Anything at all')}`)
    await tts.arrayBuffer()
    expect(tts.status).toBe(502)
    expect(await front.errorLog()).not.toMatch(/\[(?:alert|emerg|crit)\]/)
  })
})
