/**
 * The shipped nginx front when a remembered /v1/tts answer expires (X-Accel-Expires, here
 * TTS_HTTP_ACCEL_LOOKUP_SECONDS=1) while many requests for it are in flight: the service is asked
 * again once, not by every one of them (before, each request in flight asked it: at 256
 * connections a tail of requests over 1 s every expiry). The answers meanwhile are the one just
 * expired, and they still send only a file on disk now.
 *
 * Real nginx and the real service (buildApp: espeak-ng, DiskStore); nginx must be installed where
 * tests are strict (CI), as for test/http/nginx-front.test.ts.
 */
import type { IncomingMessage } from 'node:http'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildRealHttpApp, type RealHttpApp } from '../harness/http/real-app.js'
import { NGINX_BIN, startNginxFront, type NginxFront } from '../harness/http/nginx-front.js'
import { strictTestRun } from '../harness/store/tmpfs.js'
import { listen } from '../harness/http/listening.js'

const RUN = process.pid.toString(36)
/** Requests in flight when the answer has expired. */
const IN_FLIGHT = 64
/** The remembered answer's lifetime (s); nginx counts whole seconds, so waiting 2.5 s is past it. */
const LOOKUP_SECONDS = 1

if (NGINX_BIN === undefined) {
  const reason = 'nginx is not installed (/usr/sbin/nginx; apt-get install nginx-light, as scripts/bootstrap.sh test does)'
  if (strictTestRun) throw new Error(`${reason} (CI / TTS_TEST_STRICT=1: test/http/nginx-front-expiry may not be skipped)`)
  process.stderr.write(`\n*** test/http/nginx-front-expiry: SKIPPING: ${reason}; CI is unset, so skipped here (a CI run fails) ***\n\n`)
}

describe.skipIf(NGINX_BIN === undefined)('nginx front: an expired remembered /v1/tts answer under load', () => {
  let service: RealHttpApp
  let front: NginxFront
  let root = ''
  /** The /v1/tts requests that reached the service. */
  const asked: string[] = []

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tts-nginx-expiry-'))
    service = await buildRealHttpApp({ config: { httpAccelRedirect: '/_tts_cache/', httpAccelLookupSeconds: LOOKUP_SECONDS, logLevel: 'warn' } })
    service.app.server.on('request', (req: IncomingMessage) => {
      if (req.url?.startsWith('/v1/tts') === true) asked.push(req.url)
    })
    const serviceBase = await listen(service.app)
    await mkdir(join(root, 'nginx'))
    front = await startNginxFront({ cacheDir: service.cacheDir, serviceAddr: new URL(serviceBase).host, dir: join(root, 'nginx') })
  })

  afterAll(async () => {
    await front?.stop()
    await service?.close()
    if (root !== '') await rm(root, { recursive: true, force: true })
  })

  it(`asks the service once, not once per request, when the answer expires under ${IN_FLIGHT} requests in flight; every request gets the file`, async () => {
    const url = `${front.base}/v1/tts?text=${encodeURIComponent(`Expired under load, run ${RUN}.`)}`
    const get = async (): Promise<{ status: number; cache: string | null; etag: string | null; body: Buffer }> => {
      const res = await fetch(url)
      return { status: res.status, cache: res.headers.get('x-tts-cache'), etag: res.headers.get('etag'), body: Buffer.from(await res.arrayBuffer()) }
    }
    const rendered = await get()
    expect(rendered.cache).toBe('rendered')
    const key = String(rendered.etag).slice(1, -1)
    // Asked and remembered, then answered by the front alone.
    expect((await get()).cache).toBe('hit')
    asked.length = 0
    expect((await get()).cache).toBe('hit')
    expect(asked).toEqual([])

    await sleep((LOOKUP_SECONDS + 1.5) * 1000)
    const answers = await Promise.all(Array.from({ length: IN_FLIGHT }, get))
    const wav = await readFile(join(service.cacheDir, key.slice(0, 2), key.slice(2, 4), `${key}.wav`))
    for (const answer of answers) {
      expect(answer.status).toBe(200)
      expect(answer.cache).toBe('hit')
      expect(answer.body.equals(wav)).toBe(true)
    }
    // One request refreshes the answer (a lock-waiter may make it two); before, every one asked.
    expect(asked.length).toBeGreaterThanOrEqual(1)
    expect(asked.length).toBeLessThanOrEqual(2)
    expect(await front.errorLog()).not.toMatch(/\[(?:alert|emerg|crit)\]/)
  })
})

