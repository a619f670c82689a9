/**
 * A real HTTP server process for the shutdown test (test/http/shutdown.test.ts), run with
 *   node --import ./test/harness/ts-hooks.mjs test/harness/http/serve.ts
 * It builds the real app (buildApp: espeak-ng, DiskStore, in-process pool) in a temp cache dir,
 * the HTTP server on it, listens on 127.0.0.1:0 and prints one JSON line per event on stdout:
 * `listening` (with the port), `request` (a request reached the server), `render` (a render
 * started), `closing`, `closed`. Renders are held (a RenderGate around the real renderer) until
 * a line `release` arrives on stdin, so requests stay in flight as long as the test needs.
 * SIGTERM: close the HTTP server (it waits for the requests in flight), then the app, then
 * exit 0 — the order `tts-cache serve` uses.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { buildApp } from '../../../src/app/build-app.js'
import { loadConfig } from '../../../src/config/load-config.js'
import { buildHttpServer } from '../../../src/http/index.js'
import { createLogger } from '../../../src/logger.js'
import { RenderGate } from '../../fakes/fake-renderer.js'

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

// The test may give the directory (and remove it even if this process is killed).
const root = process.env['TTS_TEST_ROOT'] ?? (await mkdtemp(join(tmpdir(), 'tts-http-serve-')))
const config = loadConfig({
  env: {},
  overrides: { cacheDir: join(root, 'cache'), engine: 'espeak-ng', renderConcurrency: 2, eslEnabled: false, logLevel: 'warn' },
})
const gate = new RenderGate()
gate.hold()
gate.onStart = (job) => emit({ event: 'render', text: job.request.text })
const app = await buildApp(config, { logger: createLogger({ level: config.logLevel, destination: 2 }), wrapRenderer: (r) => gate.wrap(r) })
// Load shedding off: on a loaded CI box the event-loop delay alone could make it answer 503
// before the requests this test is about are in flight (tested in backpressure.test.ts).
const http = buildHttpServer(app, { closeGraceMs: config.shutdownGraceMs, docs: false, pressure: false })
// Every request as the node:http server receives it: Fastify's or the hit listener's (a waiter
// on a render in flight is joined there and never reaches Fastify's hooks).
http.server.on('request', (request: IncomingMessage) => {
  emit({ event: 'request', method: request.method, url: request.url })
})

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'release') gate.release()
})

process.once('SIGTERM', () => {
  emit({ event: 'closing' })
  // Not part of what is tested: makes a shutdown that hangs fail loudly, naming its stage.
  let stage = 'http.close'
  setTimeout(() => {
    emit({ event: 'error', message: `shutdown stuck in ${stage}` })
    process.exit(1)
  }, config.shutdownGraceMs * 2 + 60_000).unref()
  http
    .close()
    .then(() => {
      stage = 'app.close'
      return app.close(config.shutdownGraceMs)
    })
    .then(() => {
      stage = 'cleanup'
      return rm(root, { recursive: true, force: true })
    })
    .then(
      () => {
        emit({ event: 'closed' })
        process.exit(0)
      },
      (err: unknown) => {
        emit({ event: 'error', message: String(err) })
        process.exit(1)
      },
    )
})

await http.listen({ host: '127.0.0.1', port: 0 })
const address = http.server.address()
emit({ event: 'listening', port: typeof address === 'object' && address !== null ? address.port : 0 })
