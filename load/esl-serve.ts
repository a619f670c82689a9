/**
 * The ESL hook of the REAL built app, as a server process for load/esl-bench.ts: buildApp
 * (DiskStore on a cache dir, espeak-ng + sox, in-process pool, metrics) and EslOutboundServer
 * wired exactly as src/app/server.ts wires them, logging at info level to a file. It pre-warms the
 * load generator's phrases (real renders; a reused --cache-dir makes later runs start warm) and
 * records every call's service-side time (EslObserver.answered: from the data event that
 * completed CHANNEL_DATA to our write of the variables) next to the app's own metrics.
 *
 * Run by esl-bench.ts as a child process (IPC), so the load generator never shares this
 * process's event loop. Standalone: `node load/esl-serve.ts --port 8040` prints its port, serves
 * until SIGINT/SIGTERM, then prints the service-side percentiles.
 *
 * Options: --dist <build dir> (default dist; esl-bench builds its own), --cache-dir <dir>
 * (default load/.out/esl-bench-cache), --phrases N --prefix P (what to pre-warm, as esl-load.ts
 * names them), --port N (default 0), --host H, --log <file> (default load/.out/esl-serve.log),
 * --log-level L (default info).
 */
import { mkdirSync, openSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as PublicEntry from '../src/index.js'
import type { EslCallOutcome, EslCallStatus, EslObserver } from '../src/index.js'
import type * as EslLoad from './esl-load.js'

// Computed specifiers: Node 24 runs this file directly (type stripping); tsc sees only the types.
const { parseArgs, phraseText, summarizeServiceTimes } = (await import(new URL('./esl-load.ts', import.meta.url).href)) as typeof EslLoad

const ROOT = new URL('../', import.meta.url).pathname
const args = parseArgs(
  process.argv.slice(2),
  ['port', 'host', 'cache-dir', 'dist', 'phrases', 'prefix', 'log', 'log-level'],
  'usage: node load/esl-serve.ts [--port 8040] [--host 127.0.0.1] [--cache-dir dir] [--dist load/.out/esl-dist] [--phrases 200] [--prefix p] [--log file] [--log-level info]',
)
const dist = resolve(ROOT, args['dist'] ?? 'dist')
// The package's public entry only (src/index.ts → <dist>/index.js).
const { buildApp, loadConfig, EslOutboundServer, createLogger } = (await import(pathToFileURL(resolve(dist, 'index.js')).href)) as typeof PublicEntry

const cacheDir = resolve(ROOT, args['cache-dir'] ?? 'load/.out/esl-bench-cache')
const logFile = resolve(ROOT, args['log'] ?? 'load/.out/esl-serve.log')
mkdirSync(cacheDir, { recursive: true })
const config = loadConfig({
  env: { ...process.env, TTS_CACHE_DIR: cacheDir, TTS_LOG_LEVEL: args['log-level'] ?? 'info', TTS_HTTP_ENABLED: 'false' },
})
const logger = createLogger({ level: config.logLevel, destination: openSync(logFile, 'w') })
const app = await buildApp(config, { logger })

// Pre-warm the phrases the generator will ask for (real renders, or disk hits on a reused dir).
const phrases = Number(args['phrases'] ?? 200)
const prefix = args['prefix'] ?? 'esl-bench'
const warmStarted = performance.now()
let warmRenders = 0
for (let rank = 1; rank <= phrases; rank += 8) {
  const batch = Array.from({ length: Math.min(8, phrases - rank + 1) }, (_, i) => phraseText(prefix, rank + i))
  const results = await Promise.all(batch.map((text) => app.service.get({ text }, { priority: 'prewarm', source: 'prewarm' })))
  warmRenders += results.filter((r) => r.status !== 'hit').length
}
const warmMs = Math.round(performance.now() - warmStarted)

/** Service-side seconds of every answered call since the last reset, in arrival order. */
class ServiceTimes {
  #samples = new Float64Array(1 << 16)
  #count = 0
  readonly byStatus: Record<string, number> = {}
  /** When each status was first and last answered (CLOCK_MONOTONIC µs, the load generator's clock too). */
  readonly spans: Record<string, { firstUs: number; lastUs: number }> = {}

  add(status: EslCallStatus, seconds: number): void {
    const at = Number(process.hrtime.bigint() / 1000n)
    const span = this.spans[status]
    if (span === undefined) this.spans[status] = { firstUs: at, lastUs: at }
    else span.lastUs = at
    if (this.#count === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2)
      grown.set(this.#samples)
      this.#samples = grown
    }
    this.#samples[this.#count++] = seconds
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1
  }

  reset(): void {
    this.#count = 0
    for (const k of Object.keys(this.byStatus)) delete this.byStatus[k]
    for (const k of Object.keys(this.spans)) delete this.spans[k]
  }

  summary(): EslLoad.ServiceTimesSummary & { byStatus: Record<string, number>; spans: Record<string, { firstUs: number; lastUs: number }> } {
    return {
      ...summarizeServiceTimes(this.#samples.slice(0, this.#count).sort()),
      byStatus: { ...this.byStatus },
      spans: structuredClone(this.spans),
    }
  }
}

const times = new ServiceTimes()
/** CPU time this process spent since the last reset (user + system), and wall time. */
let cpuSince = process.cpuUsage()
let wallSince = performance.now()
const metrics = app.metrics.esl
// The app's own metrics observer (as in production) plus the raw samples.
const observer: EslObserver = {
  ...Object.fromEntries(Object.entries(metrics).map(([name, fn]) => [name, (fn as (...a: unknown[]) => void).bind(metrics)])),
  answered(status: EslCallStatus, seconds: number): void {
    metrics.answered?.(status, seconds)
    times.add(status, seconds)
  },
  callResult(outcome: EslCallOutcome): void {
    metrics.callResult?.(outcome)
  },
}
const server = new EslOutboundServer({
  host: args['host'] ?? '127.0.0.1',
  port: Number(args['port'] ?? 0),
  defaultDeadlineMs: Math.min(config.eslDeadlineMs, config.eslMaxDeadlineMs),
  maxDeadlineMs: config.eslMaxDeadlineMs,
  service: app.service,
  logger,
  observer,
  // TTS_ESL_CALL_LOG (info|debug|off), as `serve` passes it: one log line per call.
  callLog: config.eslCallLog,
})
const { port } = await server.listen()
const ready = { type: 'ready', port, pid: process.pid, dist, cacheDir, phrases, prefix, warmRenders, warmMs, callLog: config.eslCallLog, logLevel: config.logLevel }

let profiler: import('node:inspector/promises').Session | undefined

async function stop(): Promise<void> {
  await server.close(1000)
  await app.close(1000)
}

type Message = { type: 'reset' } | { type: 'report' } | { type: 'profile-start' } | { type: 'profile-stop' } | { type: 'stop' }

if (process.send !== undefined) {
  const send = (message: unknown): void => {
    process.send?.(message)
  }
  process.on('message', (message: Message) => {
    void (async () => {
      switch (message.type) {
        case 'reset':
          times.reset()
          cpuSince = process.cpuUsage()
          wallSince = performance.now()
          return send({ type: 'reset' })
        case 'report': {
          const cpu = process.cpuUsage(cpuSince)
          const service = times.summary()
          const cpuMs = (cpu.user + cpu.system) / 1000
          return send({
            type: 'report',
            service,
            cpu: { userMs: cpu.user / 1000, systemMs: cpu.system / 1000, wallMs: performance.now() - wallSince, perCallUs: service.count === 0 ? 0 : (cpuMs * 1000) / service.count },
            stats: server.stats(),
            memory: process.memoryUsage(),
          })
        }
        case 'profile-start': {
          const { Session } = await import('node:inspector/promises')
          profiler = new Session()
          profiler.connect()
          await profiler.post('Profiler.enable')
          await profiler.post('Profiler.setSamplingInterval', { interval: 100 })
          await profiler.post('Profiler.start')
          return send({ type: 'profile-start' })
        }
        case 'profile-stop': {
          const result = profiler === undefined ? undefined : await profiler.post('Profiler.stop')
          profiler?.disconnect()
          profiler = undefined
          return send({ type: 'profile-stop', profile: result?.profile })
        }
        case 'stop':
          await stop()
          send({ type: 'stopped' })
          return process.disconnect()
      }
    })().catch((err: unknown) => {
      logger.error({ err }, 'esl-serve: IPC command failed')
      send({ type: 'error', message: String(err) })
    })
  })
  send(ready)
} else {
  process.stdout.write(`${JSON.stringify(ready)}\n`)
  await new Promise<void>((done) => {
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
  await stop()
  process.stdout.write(`${JSON.stringify({ service: times.summary(), stats: server.stats() })}\n`)
}
