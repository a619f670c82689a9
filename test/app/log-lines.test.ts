/**
 * What the service writes to its log, read as an operator's tools read it: the raw JSON lines of
 * the real logger (createLogger) into a capture. Issue 20: one "listening" line per front, one
 * line per ESL call, and no line carrying a key twice (`"component":"cluster","component":
 * "bullmq-queue"`: JSON.parse keeps the last, jq and Loki parsers disagree on which).
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app/build-app.js'
import { startServer } from '../../src/app/server.js'
import { loadConfig } from '../../src/config/load-config.js'
import { createLogger } from '../../src/logger.js'
import { CountingRenderer } from '../fakes/counting-renderer.js'
import { fixedCatalog } from '../fakes/engine-catalogs.js'
import { runCall } from '../fakes/freeswitch/call.js'
import { LogCapture } from '../fakes/loggers.js'
import { tempDir } from '../harness/app/test-app.js'
import { FALLBACK_WAV } from '../harness/esl/hook.js'
import { waitFor } from '../harness/esl/wait.js'
import { duplicateJsonKeys, linesWithDuplicateKeys } from '../harness/logs/json-keys.js'
import { SAMPLE_RATE } from '../harness/queue/render-jobs.js'
import { startTestRedis, uniquePrefix } from '../harness/redis/server.js'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Line {
  readonly level: number
  readonly msg: string
  readonly component?: string
  readonly [key: string]: unknown
}

/** `fn` run at most once (the test closes what it started; the cleanup closes it after a failure). */
function once(fn: () => Promise<unknown>): () => Promise<void> {
  let done: Promise<unknown> | undefined
  return async () => {
    done ??= fn()
    await done
  }
}

const parse = (capture: LogCapture): Line[] => capture.lines.map((l) => JSON.parse(l) as Line)

it('finds a repeated key in raw JSON that JSON.parse would hide', () => {
  expect(duplicateJsonKeys('{"component":"cluster","component":"bullmq-queue"}')).toEqual(['component'])
  expect(duplicateJsonKeys('{"a":{"b":1},"c":[{"b":2},{"b":3}],"d":"\\"b\\":","e":{"a":1}}')).toEqual([])
  expect(duplicateJsonKeys('{"err":{"code":"x","code":"y"}}')).toEqual(['code'])
})

describe('serve as built (real engines in the render host, both fronts listening)', () => {
  it('logs one listening line per front, one line per ESL call, and no key twice in any line', async () => {
    const { dir, cleanup } = await tempDir('tts-log-lines-')
    cleanups.push(cleanup)
    const capture = new LogCapture()
    const logger = createLogger({ level: 'debug', destination: capture })
    const config = loadConfig({ env: { TTS_CACHE_DIR: join(dir, 'cache'), TTS_ESL_PORT: '0', TTS_HTTP_PORT: '0', TTS_ESL_DEADLINE_MS: '20000' } })
    const app = await buildApp(config, { logger, listeners: true, defaultMetrics: false })
    const running = await startServer(app).catch(async (err: unknown) => {
      await app.close(0)
      throw err
    })
    const stop = once(async () => {
      await running.close(1000)
      await app.close(5000)
    })
    cleanups.push(stop)

    const call = await runCall({ port: running.esl?.port ?? 0, presetTtsFile: FALLBACK_WAV, variables: [['tts_cache_text', 'Every line is read raw']] })
    expect(call.variables.get('tts_cache_status')).toBe('rendered')
    const response = await fetch(`http://127.0.0.1:${running.http?.port ?? 0}/v1/tts?text=${encodeURIComponent('Every line is read raw')}`)
    expect(response.status).toBe(200)
    await response.arrayBuffer()
    await waitFor(() => capture.text.includes('"msg":"tts_cache call"'), 'the call line')
    await stop()

    const lines = parse(capture)
    const listening = lines.filter((l) => /listening/.test(l.msg) && !/once listening/.test(l.msg))
    expect(listening.map((l) => `${l.component}: ${l.msg}`)).toEqual(['esl: tts_cache hook listening for FreeSWITCH socket()', 'http: HTTP API listening'])
    expect(listening.map((l) => l['port'])).toEqual([running.esl?.port, running.http?.port])

    const callLines = lines.filter((l) => l['uuid'] === call.uuid && l.level >= 30)
    expect(callLines).toEqual([
      expect.objectContaining({ level: 30, component: 'esl', msg: 'tts_cache call', status: 'rendered', key: call.variables.get('tts_cache_key'), ms: expect.any(Number) as unknown }),
    ])
    // Lines from the render host's process come through too (engine probes, renders at debug).
    expect(lines.some((l) => l.component?.startsWith('render-host') === true)).toBe(true)
    expect(linesWithDuplicateKeys(capture.lines)).toEqual([])
  })
})

describe('the cluster path (BullMQ on a real Redis, the worker in process)', () => {
  it('writes no key twice in any line, each line naming one component', async () => {
    const redis = await startTestRedis()
    cleanups.push(() => redis.stop())
    const { dir, cleanup } = await tempDir('tts-log-lines-')
    cleanups.push(cleanup)
    const capture = new LogCapture()
    const logger = createLogger({ level: 'debug', destination: capture })
    const config = loadConfig({
      env: { REDIS_URL: redis.url, TTS_REDIS_PREFIX: uniquePrefix('logs'), TTS_WORKERS_IN_PROCESS: 'true', TTS_WORKER_CONCURRENCY: '1' },
      overrides: { cacheDir: join(dir, 'cache'), engine: 'espeak-ng', voice: '', sampleRate: SAMPLE_RATE },
    })
    const renderer = new CountingRenderer()
    const app = await buildApp(config, { logger, defaultMetrics: false, engines: fixedCatalog(), renderer: renderer.render })
    const stop = once(() => app.close(5000))
    cleanups.push(stop)
    await Promise.all([app.cluster?.cluster.whenStarted(), app.cluster?.worker?.whenReady()])
    const result = await app.service.get({ text: 'through the cluster' }, { source: 'http' })
    expect(result.status).toBe('rendered')
    expect(renderer.runs).toBe(1)
    expect(app.cluster?.backendCounts().cluster).toBe(1)
    await stop()

    const components = new Set(parse(capture).map((l) => l.component))
    expect(components).toContain('bullmq-queue')
    expect(components).toContain('cluster-worker')
    expect(linesWithDuplicateKeys(capture.lines)).toEqual([])
  })
})
