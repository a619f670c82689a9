/**
 * A fast smoke test of the pieces of `npm run bench` that can silently go wrong: the Lua
 * baseline, the burst driver and its reader, the render count of our path, the cache-dir
 * generator against the real DiskStore, and the small parsers the results depend on.
 * No timing assertions (timing goals live in the bench). The bench imports the service from
 * dist/, so this needs `npm run build` first (as `npm test` does).
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = new URL('../../', import.meta.url)
const bench = (file: string): string => new URL(`load/bench/${file}`, ROOT).href

// Computed specifiers: the bench is plain JavaScript (no .d.ts); each import gets the small
// shape this test relies on.
interface WorkloadResult {
  requests: number
  renders: number
  invalidReads: number
  errors: number
  errorExamples: string[]
  statuses: Record<string, number>
}
interface System {
  name: string
  get(text: string): Promise<{ path: string; status?: string; rendered?: boolean }>
  renders(): number
}
interface Ours {
  get(text: string): Promise<{ path: string; status: string }>
  renders(): number
  close(): Promise<void>
}

let dir: string
beforeAll(async () => {
  if (!existsSync(new URL('dist/app/build-app.js', ROOT))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
  dir = await mkdtemp(join(tmpdir(), 'tts-bench-smoke-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function countLines(file: string): Promise<number> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '').length
  } catch {
    return 0
  }
}

describe('the bench harness', () => {
  it('shows the Lua baseline rendering once per caller, and ours once, for a burst of 5 on a counting engine', async () => {
    const { LuaBaseline } = (await import(bench('lua-baseline.js'))) as {
      LuaBaseline: new (o: { cacheDir: string; engineBin: string }) => { get(t: string): Promise<{ path: string; rendered: boolean }>; renders: number }
    }
    const { runOpenBurst } = (await import(bench('lib/workload-runner.js'))) as {
      runOpenBurst(s: System, texts: string[], o: { arrivalWindowMs: number; engineProcNames: string[] }): Promise<WorkloadResult>
    }
    const { startOurs, COUNTING_ENGINE } = (await import(bench('lib/ours.js'))) as {
      startOurs(o: { workDir: string; config: Record<string, unknown> }): Promise<Ours>
      COUNTING_ENGINE: string
    }
    const { sentence } = (await import(bench('lib/workload.js'))) as { sentence(runId: string, i: number): string }
    const text = sentence('smoke', 1)
    const burst = Array<string>(5).fill(text)

    // The counting fixture is the same executable on both sides: one line per engine run.
    const luaCount = join(dir, 'lua.count')
    const lua = new LuaBaseline({ cacheDir: join(dir, 'lua'), engineBin: `${COUNTING_ENGINE} --count-file ${luaCount}` })
    const luaResult = await runOpenBurst({ name: 'lua', get: (t) => lua.get(t), renders: () => lua.renders }, burst, {
      arrivalWindowMs: 0,
      engineProcNames: ['slow-engine.sh'],
    })
    expect(await countLines(luaCount)).toBeGreaterThan(1)
    expect(luaResult.renders).toBe(await countLines(luaCount))

    const oursCount = join(dir, 'ours.count')
    const ours = await startOurs({
      workDir: join(dir, 'ours'),
      config: { engine: 'command', command: [COUNTING_ENGINE, '--count-file', oursCount, '--rate', '{rate}', '--out', '{out}'] },
    })
    try {
      const oursResult = await runOpenBurst({ name: 'ours', get: (t) => ours.get(t), renders: () => ours.renders() }, burst, {
        arrivalWindowMs: 0,
        engineProcNames: ['slow-engine.sh'],
      })
      expect(oursResult.errorExamples).toEqual([])
      expect(await countLines(oursCount)).toBe(1)
      expect(oursResult.renders).toBe(1)
      expect(oursResult.invalidReads).toBe(0)
      expect(oursResult.statuses).toEqual({ rendered: 1, coalesced: 4 })
    } finally {
      await ours.close()
    }
  })

  it('has a reader that rejects a WAV still being written and accepts a finished one', async () => {
    const { checkWavAt } = (await import(bench('lib/wav-check.js'))) as { checkWavAt(p: string): Promise<{ ok: boolean }> }
    const { wavBytes } = (await import(new URL('load/gen-cache-dir.js', ROOT).href)) as { wavBytes(rate: number, ms: number): Buffer }
    const whole = wavBytes(8000, 200)
    await writeFile(join(dir, 'whole.wav'), whole)
    // espeak-ng's header while it writes: a placeholder data size far beyond the file.
    const partial = Buffer.from(whole.subarray(0, 1000))
    partial.writeUInt32LE(0x7ffff000, 40)
    await writeFile(join(dir, 'partial.wav'), partial)
    await writeFile(join(dir, 'empty.wav'), '')
    expect((await checkWavAt(join(dir, 'whole.wav'))).ok).toBe(true)
    expect((await checkWavAt(join(dir, 'partial.wav'))).ok).toBe(false)
    expect((await checkWavAt(join(dir, 'empty.wav'))).ok).toBe(false)
    expect((await checkWavAt(join(dir, 'missing.wav'))).ok).toBe(false)
  })

  it('generates a cache directory the real DiskStore indexes entirely, and reuses it on a second run', async () => {
    const { generateCacheDir } = (await import(new URL('load/gen-cache-dir.js', ROOT).href)) as {
      generateCacheDir(o: { dir: string; entries: number; pinnedEvery?: number }): { reused: boolean; entries: number }
    }
    // As the bench does: the store of an app from dist/app/index.js (the public surface), not a deep import.
    const { buildApp, loadConfig } = (await import(new URL('dist/app/index.js', ROOT).href)) as {
      loadConfig(o: { env: Record<string, string>; overrides: Record<string, unknown> }): unknown
      buildApp(config: unknown, overrides: Record<string, unknown>): Promise<{ store: { entries(): Iterable<{ key: string; pinned: boolean }> }; close(): Promise<void> }>
    }
    const cacheDir = join(dir, 'generated')
    expect(generateCacheDir({ dir: cacheDir, entries: 40, pinnedEvery: 10 }).reused).toBe(false)
    expect(generateCacheDir({ dir: cacheDir, entries: 40, pinnedEvery: 10 }).reused).toBe(true)
    const warnings: unknown[] = []
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (o: unknown) => warnings.push(o),
      error: (o: unknown) => warnings.push(o),
      child: () => logger,
    }
    const catalog = { versionOf: () => 'bench', checkVoice: () => undefined, ids: () => ['espeak-ng'] }
    const app = await buildApp(loadConfig({ env: {}, overrides: { cacheDir } }), {
      logger,
      defaultMetrics: false,
      engines: catalog,
      renderer: () => Promise.reject(new Error('renders nothing')),
    })
    const store = app.store
    try {
      const indexed = [...store.entries()]
      expect(indexed).toHaveLength(40)
      expect(indexed.filter((e) => e.pinned)).toHaveLength(4)
      expect(warnings).toEqual([])
    } finally {
      await app.close()
    }
  })

  it('counts engine processes that descend from the bench process', async () => {
    const { startProcSampler } = (await import(bench('lib/proc-sampler.js'))) as {
      startProcSampler(o: { names: string[] }): Promise<{ stop(): Promise<{ peak: number; distinct: number }> }>
    }
    const { spawn } = await import('node:child_process')
    const sampler = await startProcSampler({ names: ['sleep'] })
    const children = Array.from({ length: 3 }, () => spawn('sleep', ['0.5']))
    await Promise.all(children.map((c) => new Promise((resolve) => c.once('exit', resolve))))
    const seen = await sampler.stop()
    expect(seen.peak).toBe(3)
  })

  it('parses what the result tables are computed from', async () => {
    const { zipfSampler, seededRandom } = (await import(bench('lib/workload.js'))) as {
      zipfSampler(n: number, s: number, r: () => number): () => number
      seededRandom(seed: number): () => number
    }
    const draw = zipfSampler(100, 1, seededRandom(7))
    const counts = new Array<number>(100).fill(0)
    for (let i = 0; i < 10_000; i++) {
      const rank = draw()
      counts[rank] = (counts[rank] ?? 0) + 1
    }
    expect(counts[0]).toBeGreaterThan(counts[9] ?? 0)
    expect(counts[9]).toBeGreaterThan(counts[99] ?? 0)

    const { summarizeCpuProfile } = (await import(bench('lib/cpu-profile.js'))) as {
      summarizeCpuProfile(p: unknown): { top: { name: string; selfMs: number }[] }
    }
    const profile = {
      startTime: 0,
      endTime: 3000,
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'hot', url: 'file:///x/a.js', lineNumber: 9 } },
        { id: 3, callFrame: { functionName: 'cold', url: 'file:///x/b.js', lineNumber: 0 } },
      ],
      samples: [2, 2, 3, 2],
      timeDeltas: [0, 1000, 1000, 500],
    }
    expect(summarizeCpuProfile(profile).top[0]).toMatchObject({ name: 'hot', selfMs: 2 })
  })

  it('reports interleaved rounds as the median of per-round ratios with their min–max, and times a burst per answer', async () => {
    type Spread = { n: number; median: number; min: number; max: number }
    const { spreadOf, fmtSpread, fmtTimes, fmtTimesNear } = (await import(bench('lib/stats.js'))) as {
      spreadOf(values: number[]): Spread
      fmtSpread(s: Spread, fmt: (n: number) => string): string
      fmtTimes(r: number): string
      fmtTimesNear(target: number): (r: number) => string
    }
    // A figure that rounds to the goal but is not it says so: a miss never prints like the goal.
    expect(fmtSpread(spreadOf([0.4966, 0.39, 0.62]), fmtTimesNear(0.5))).toBe('0.497× (0.39×–0.62×)')
    expect([fmtTimesNear(0.5)(0.5), fmtTimesNear(0.5)(0.503), fmtTimesNear(1.2)(1.63)]).toEqual(['0.50×', '0.503×', '1.63×'])
    expect(spreadOf([0.5, 0.1, 0.4])).toEqual({ n: 3, median: 0.4, min: 0.1, max: 0.5 })
    expect(spreadOf([4, 1, 3, 2]).median).toBe(2.5)
    expect(spreadOf([Number.NaN, 2]).n).toBe(1)
    expect(fmtSpread(spreadOf([0.5, 0.25, 0.75]), fmtTimes)).toBe('0.50× (0.25×–0.75×)')
    const { pairedRatios } = (await import(bench('scenarios/http-hit.js'))) as {
      pairedRatios(level: { runs: Record<string, { rps: number; p99: number }[]> }, a: string, b: string): { rps: Spread; p99: Spread }
    }
    const ratios = pairedRatios({ runs: { ours: [{ rps: 5, p99: 30 }, { rps: 9, p99: 10 }], nginx: [{ rps: 10, p99: 10 }, { rps: 10, p99: 10 }] } }, 'ours', 'nginx')
    expect([ratios.rps.min, ratios.rps.max, ratios.p99.median]).toEqual([0.5, 0.9, 2])

    const { createServer } = await import('node:http')
    const server = createServer((req, res) => {
      res.writeHead(200, { 'x-tts-cache': 'hit', 'content-length': '5' })
      res.end(req.method === 'GET' ? 'hello' : undefined)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { openBurstClient } = (await import(bench('lib/burst-client.js'))) as {
      openBurstClient(o: { host: string; port: number; connections: number }): Promise<{
        burst(path: string, headers?: Record<string, string>, count?: number): Promise<{ status: number; cache: string; bytes: number }[]>
        close(): void
      }>
    }
    const address = server.address()
    const client = await openBurstClient({ host: '127.0.0.1', port: typeof address === 'object' && address !== null ? address.port : 0, connections: 5 })
    try {
      for (let i = 0; i < 2; i++) expect(await client.burst('/x')).toEqual(Array.from({ length: 5 }, () => expect.objectContaining({ status: 200, cache: 'hit', bytes: 5 })))
      expect(await client.burst('/x', {}, 2)).toHaveLength(2)
    } finally {
      client.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
