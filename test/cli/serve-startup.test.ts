import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { startBackgroundWorkSoon } from '../../src/cli/commands/serve.js'
import { ROOT, tempDir } from '../harness/app/test-app.js'

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
async function startRecordedServe(loadsFile: string): Promise<{ base: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', join(ROOT, 'test/harness/cli/record-loads-hook.mjs'), join(ROOT, 'dist/cli/main.js'), 'serve'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/root',
      RECORD_LOADS_FILE: loadsFile,
      TTS_CACHE_DIR: join(dir, 'cache'),
      TTS_HTTP_HOST: '127.0.0.1',
      TTS_HTTP_PORT: '0',
      TTS_ESL_HOST: '127.0.0.1',
      TTS_ESL_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let output = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const match = /"port":(\d+),[^\n]*"msg":"HTTP API listening"/.exec(output)
      if (match !== null) resolve(Number(match[1]))
    })
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening:\n${output}`)))
  })
  return {
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM')
      return exited
    },
  }
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
