/**
 * Runs the ESL load generator against an in-process EslOutboundServer in front of the real
 * TtsService, with an in-memory store and a render queue that simulates engine time. Measures
 * the hook itself (ESL round trips, single-flight), not an engine.
 *
 *   npm run build && node load/esl-load-selftest.ts --channels 200 --phrases 500 --zipf 1.1 --duration 10000
 *   (--render-ms 60 --render-concurrency 2 --deadline 3000; --warm true pre-renders every phrase so the
 *   run measures cache hits only; TTS_DIST=<dir> to use another build)
 *
 * --serve true starts only the server (prints its port) so the generator can run in another process.
 * Switch to buildApp (src/app.ts) with a temp cache dir and the real engine pool once they exist.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as EslLoad from './esl-load.js'

// A computed specifier: Node 24 runs the .ts directly (type stripping), tsc sees only the types.
const { loadOptionsFromArgs, parseArgs, phraseText, runEslLoad } = (await import(new URL('./esl-load.ts', import.meta.url).href)) as typeof EslLoad

interface Entry {
  key: string
  path: string
  text: string
  voice: string
  engine: string
  engineVersion: string
  sampleRate: number
  format: string
  bytes: number
  durationMs: number
  createdAt: number
  pinned: boolean
}

const args = parseArgs(process.argv.slice(2))
const dist = resolve(process.env['TTS_DIST'] ?? 'dist')
const importDist = async (path: string): Promise<Record<string, unknown>> =>
  (await import(pathToFileURL(resolve(dist, path)).href)) as Record<string, unknown>
const { TtsService } = (await importDist('core/tts-service.js')) as { TtsService: new (deps: unknown) => unknown }
const { EslOutboundServer } = (await importDist('esl/index.js')) as {
  EslOutboundServer: new (options: unknown) => { listen(): Promise<{ port: number }>; close(graceMs: number): Promise<void>; stats(): unknown }
}

const renderMs = Number(args['render-ms'] ?? 60)
const renderConcurrency = Number(args['render-concurrency'] ?? 2)
const entries = new Map<string, Entry>()
let renders = 0
let active = 0
const waiting: (() => void)[] = []

const store = {
  lookup: (key: string) => entries.get(key),
  peek: (key: string) => entries.get(key),
  pathFor: (key: string) => `/var/lib/tts-cache/${key.slice(0, 2)}/${key}.wav`,
  claim: async (key: string) => {
    const existing = entries.get(key)
    if (existing !== undefined) return { state: 'exists', entry: existing }
    const path = store.pathFor(key)
    return {
      state: 'owned',
      slot: {
        key,
        tempPath: `${path}.tmp`,
        commit: async (meta: Omit<Entry, 'key' | 'path' | 'bytes' | 'durationMs' | 'createdAt'>, audio: { bytes: number; durationMs: number }) => {
          const entry: Entry = { ...meta, key, path, bytes: audio.bytes, durationMs: audio.durationMs, createdAt: Date.now() }
          entries.set(key, entry)
          return entry
        },
        release: async () => undefined,
      },
    }
  },
  pin: async () => undefined,
  remove: async () => false,
  removeWhere: async () => 0,
  removeAll: async () => 0,
  entries: () => entries.values(),
  stats: () => ({ entries: entries.size, bytes: 0, pinnedEntries: 0, pinnedBytes: 0, maxBytes: 0, evictions: 0 }),
}
const queue = {
  render: async () => {
    renders++
    if (active >= renderConcurrency) await new Promise<void>((go) => waiting.push(go))
    active++
    try {
      await new Promise((done) => setTimeout(done, renderMs))
      return { bytes: 16_044, durationMs: 1000 }
    } finally {
      active--
      waiting.shift()?.()
    }
  },
  stats: () => ({ waiting: waiting.length, active, concurrency: renderConcurrency, limit: 100_000, drainPerSecond: 0 }),
  close: async () => undefined,
}
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }
const service = new TtsService({
  store,
  queue,
  engines: { versionOf: () => 'selftest', checkVoice: () => undefined, ids: () => ['espeak-ng'] },
  defaults: { engine: 'espeak-ng', voice: '', sampleRate: 8000, maxTextChars: 2000 },
  logger: silent,
})
const server = new EslOutboundServer({
  host: '127.0.0.1',
  port: 0,
  defaultDeadlineMs: Number(args['deadline'] ?? 3000),
  maxDeadlineMs: 10_000,
  service,
  logger: silent,
})
const { port } = await server.listen()
if (args['serve'] === 'true') {
  // Server only: run `node load/esl-load.ts --port <port> …` from another process; stop with SIGINT/SIGTERM.
  process.stdout.write(`${JSON.stringify({ port })}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await server.close(1000)
  process.stdout.write(`${JSON.stringify({ renders, server: server.stats() })}\n`)
  process.exit(0)
}
const options = { textPrefix: 'selftest', ...loadOptionsFromArgs(args, port) }
if (args['warm'] === 'true') {
  const get = (service as { get(input: { text: string }): Promise<unknown> }).get.bind(service)
  for (let rank = 1; rank <= options.phrases; rank++) await get({ text: phraseText(options.textPrefix, rank) })
  renders = 0
}
const result = await runEslLoad(options)
await server.close(1000)
process.stdout.write(`${JSON.stringify({ ...result, renders, renderMs, renderConcurrency, server: server.stats() }, null, 2)}\n`)
