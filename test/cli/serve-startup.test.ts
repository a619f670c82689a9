import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { startBackgroundWorkSoon } from '../../src/cli/commands/serve.js'
import { ROOT, tempDir } from '../harness/app/test-app.js'
import { startServeChild, type ServeChild } from '../harness/cli/serve-child.js'

let dir: string
let cleanup: () => Promise<void>

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('tts-serve-startup-'))
})
afterEach(async () => {
  vi.useRealTimers()
  await cleanup()
})

/** Starts the built `serve` with a preload recording every module it loads; resolves once the HTTP API listens. */
function startRecordedServe(loadsFile: string): Promise<ServeChild> {
  return startServeChild({
    nodeArgs: ['--import', join(ROOT, 'test/harness/cli/record-loads-hook.mjs')],
    env: { RECORD_LOADS_FILE: loadsFile, TTS_CACHE_DIR: join(dir, 'cache') },
  })
}

const DOCS_MODULES = /node_modules\/(@fastify\/swagger|@fastify\/swagger-ui|@fastify\/static|yaml|json-schema-resolver)\//

describe('serve start-up', () => {
  it('listens without loading the OpenAPI modules; the first /docs request loads them and answers the document and the page', async () => {
    const loadsFile = join(dir, 'loads.txt')
    const serve = await startRecordedServe(loadsFile)
    try {
      const health = await fetch(`${serve.base}/healthz`)
      expect(health.status).toBe(200)
      const atStart = (await readFile(loadsFile, 'utf8')).split('\n')
      expect(atStart.some((url) => url.includes('node_modules/fastify/'))).toBe(true) // the hook records
      expect(atStart.filter((url) => DOCS_MODULES.test(url))).toEqual([])

      const doc = await fetch(`${serve.base}/docs/json`)
      expect(doc.status).toBe(200)
      const paths = Object.keys(((await doc.json()) as { paths: Record<string, unknown> }).paths)
      expect(paths).toContain('/v1/tts')
      expect(paths.some((p) => p.startsWith('/docs'))).toBe(false)
      const page = await fetch(`${serve.base}/docs`)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toMatch(/text\/html/)
      const css = await fetch(`${serve.base}/docs/static/swagger-ui.css`) // a file @fastify/static sends
      expect(css.status).toBe(200)
      expect(css.headers.get('content-type')).toMatch(/text\/css/)
      expect((await css.arrayBuffer()).byteLength).toBe(Number(css.headers.get('content-length')))
      const afterDocs = (await readFile(loadsFile, 'utf8')).split('\n')
      expect(afterDocs.some((url) => url.includes('node_modules/@fastify/swagger-ui/'))).toBe(true)
    } finally {
      expect(await serve.stop()).toBe(0)
    }
  })
})

describe('startBackgroundWorkSoon (the start-up scan and the engine re-check after listening)', () => {
  function fakeApp(): { startScan: ReturnType<typeof vi.fn>; recheckEngines: ReturnType<typeof vi.fn>; app: Parameters<typeof startBackgroundWorkSoon>[0] } {
    const startScan = vi.fn()
    const recheckEngines = vi.fn(async () => undefined)
    return { startScan, recheckEngines, app: { store: { startScan }, recheckEngines } as unknown as Parameters<typeof startBackgroundWorkSoon>[0] }
  }

  it('starts both once the delay has passed, not before (the wait is bounded by the delay)', () => {
    vi.useFakeTimers()
    const f = fakeApp()
    startBackgroundWorkSoon(f.app, 1000)
    vi.advanceTimersByTime(999)
    expect(f.startScan).not.toHaveBeenCalled()
    expect(f.recheckEngines).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(f.startScan).toHaveBeenCalledTimes(1)
    expect(f.recheckEngines).toHaveBeenCalledTimes(1)
  })

  it('a stop before the delay cancels both', () => {
    vi.useFakeTimers()
    const f = fakeApp()
    const cancel = startBackgroundWorkSoon(f.app, 1000)
    vi.advanceTimersByTime(500)
    cancel()
    vi.advanceTimersByTime(10_000)
    expect(f.startScan).not.toHaveBeenCalled()
    expect(f.recheckEngines).not.toHaveBeenCalled()
  })
})
