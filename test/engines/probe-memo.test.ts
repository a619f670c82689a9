import { chmod, readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../src/app/build-app.js'
import { loadConfig } from '../../src/config/load-config.js'
import { EngineCatalog } from '../../src/engines/catalog.js'
import { PROBE_MEMO_FILE, ProbeMemo } from '../../src/engines/probe-memo.js'
import { livingPidsWithArgument, makeTempDir, removeTempDirs, ttsErrorOf } from '../fixtures/engines/helpers.js'
import { RENDER_HOST_FLAG } from '../../src/engines/host/render-host-protocol.js'

afterEach(removeTempDirs)

const silent = pino({ level: 'silent' })

/**
 * A real espeak-ng behind a wrapper whose `--version` prints the content of a file, so a test
 * can change what the engine reports without changing the binary (a shared library or data
 * upgrade looks like that), and which counts its runs.
 */
async function wrappedEspeak(dir: string, version: string): Promise<{ bin: string; versionFile: string; runs: () => Promise<number> }> {
  const bin = join(dir, 'espeak-ng-wrapper')
  const versionFile = join(dir, 'version')
  const countFile = join(dir, 'runs')
  await writeFile(versionFile, `eSpeak NG text-to-speech: ${version}  Data at: /nowhere\n`)
  await writeFile(countFile, '')
  await writeFile(bin, `#!/bin/sh\necho run >> '${countFile}'\nif [ "$1" = "--version" ]; then cat '${versionFile}'; exit 0; fi\nexec espeak-ng "$@"\n`)
  await chmod(bin, 0o755)
  return { bin, versionFile, runs: async () => (await readFile(countFile, 'utf8')).split('\n').filter(Boolean).length }
}

function detect(bin: string, memo: ProbeMemo | undefined): Promise<EngineCatalog> {
  return EngineCatalog.detect({ defaultEngine: 'espeak-ng', engines: { 'espeak-ng': { path: bin } }, logger: silent, memo })
}

describe('ProbeMemo: engine probes remembered across starts', () => {
  it('replays every probe of the same binary without running it, with the same detection', async () => {
    const dir = await makeTempDir()
    const { bin, runs } = await wrappedEspeak(dir, '1.51.test')
    const file = join(dir, PROBE_MEMO_FILE)
    const first = await ProbeMemo.load(file)
    const probed = await detect(bin, first)
    expect(first.counts).toMatchObject({ replayed: 0 })
    expect(first.counts.ran).toBeGreaterThanOrEqual(3)
    await first.save()
    const runsAfterFirst = await runs()

    const second = await ProbeMemo.load(file)
    const replayed = await detect(bin, second)
    expect(second.counts).toEqual({ replayed: first.counts.ran, ran: 0 })
    expect(await runs()).toBe(runsAfterFirst)
    expect(replayed.versionOf('espeak-ng')).toBe('1.51.test')
    expect(replayed.describe().engines.find((e) => e.id === 'espeak-ng')?.voices).toBe(probed.describe().engines.find((e) => e.id === 'espeak-ng')?.voices)
    // Voice checks, variants included, work from the replayed lists.
    expect(() => replayed.checkVoice('espeak-ng', 'en-us+f3')).not.toThrow()
    expect(() => replayed.checkVoice('espeak-ng', 'xx-nonesuch')).toThrow(/voice/)
  })

  it('runs the probes again when the binary file changed (a package upgrade replaces it)', async () => {
    const dir = await makeTempDir()
    const { bin, versionFile } = await wrappedEspeak(dir, '1.51.old')
    const file = join(dir, PROBE_MEMO_FILE)
    const first = await ProbeMemo.load(file)
    await detect(bin, first)
    await first.save()
    await writeFile(versionFile, 'eSpeak NG text-to-speech: 1.52.new  Data at: /nowhere\n')
    const later = new Date(Date.now() + 5000)
    await utimes(bin, later, later)

    const second = await ProbeMemo.load(file)
    const catalog = await detect(bin, second)
    // espeak-ng's three probes ran again (sox's and any other engine's were replayed).
    expect(second.counts.ran).toBe(3)
    expect(catalog.versionOf('espeak-ng')).toBe('1.52.new')
  })

  it('keeps the entries of another machine sharing the cache directory when it saves its own', async () => {
    const dir = await makeTempDir()
    const { bin } = await wrappedEspeak(dir, '1.51.test')
    const file = join(dir, PROBE_MEMO_FILE)
    const foreign = { key: JSON.stringify(['/usr/bin/espeak-ng', 99, 12345, 1, 2, 3, ['--version'], null]), stdout: 'eSpeak NG text-to-speech: 1.50  Data at: /elsewhere\n' }
    await writeFile(file, JSON.stringify({ format: 1, probes: [foreign] }))
    const memo = await ProbeMemo.load(file)
    await detect(bin, memo)
    await memo.save()
    const saved = JSON.parse(await readFile(file, 'utf8')) as { probes: { key: string; stdout: string }[] }
    expect(saved.probes).toContainEqual(foreign)
    expect(saved.probes.length).toBe(memo.counts.ran + 1)
    // And this machine's entries replay on its next start.
    const next = await ProbeMemo.load(file)
    await detect(bin, next)
    expect(next.counts.ran).toBe(0)
  })

  it('treats a corrupt or foreign memo file as empty, and never remembers a failed probe', async () => {
    const dir = await makeTempDir()
    const { bin } = await wrappedEspeak(dir, '1.51.test')
    const file = join(dir, PROBE_MEMO_FILE)
    await writeFile(file, '{"format": 1, "probes": [{"key": 42}')
    const memo = await ProbeMemo.load(file)
    await detect(bin, memo)
    expect(memo.counts.replayed).toBe(0)

    const missing = ProbeMemo.recorder(file)
    const err = await ttsErrorOf(detect(join(dir, 'no-such-engine'), missing))
    expect(err.code).toBe('TTS_ERR_ENGINE_UNAVAILABLE')
    await missing.save()
    const saved = await readFile(file, 'utf8')
    expect(saved).toContain('sox')
    expect(saved).not.toContain('no-such-engine')
  })
})

describe('serve with an engine that cannot run', () => {
  const apps: App[] = []
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close(5000)
  })

  it('a default engine that cannot run fails a one-shot build with its own error, and leaves no host behind', async () => {
    const dir = await makeTempDir()
    const config = loadConfig({ env: { TTS_CACHE_DIR: join(dir, 'cache'), TTS_LOG_LEVEL: 'silent', TTS_ESPEAK_NG_BIN: join(dir, 'missing') } })
    // (serve — listeners — starts without it since issue 20: test/faults/engine-missing.test.ts.)
    const err = await ttsErrorOf(buildApp(config, { logger: silent, defaultMetrics: false, listeners: false, renderHost: true }))
    expect(err.code).toBe('TTS_ERR_ENGINE_UNAVAILABLE')
    expect(err.message).toContain('missing')
    const hostsOfThisProcess = []
    for (const pid of await livingPidsWithArgument(RENDER_HOST_FLAG)) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) hostsOfThisProcess.push(pid)
    }
    expect(hostsOfThisProcess).toEqual([])
  })

  it('serve (listeners) starts without it: readiness degraded, a miss fails at once with its error', async () => {
    const dir = await makeTempDir()
    const config = loadConfig({ env: { TTS_CACHE_DIR: join(dir, 'cache'), TTS_LOG_LEVEL: 'silent', TTS_ESPEAK_NG_BIN: join(dir, 'missing') } })
    const app = await buildApp(config, { logger: silent, defaultMetrics: false, listeners: true })
    apps.push(app)
    const report = await app.readiness()
    expect(report.ok).toBe(true)
    expect(report.checks['engine']).toMatchObject({ ok: true, state: 'degraded', detail: expect.stringContaining('no version remembered') })
    const err = await ttsErrorOf(app.service.get({ text: 'Hello' }))
    expect(err.code).toBe('TTS_ERR_ENGINE_UNAVAILABLE')
    expect(err.message).toContain('missing')
  })
})

describe('serve re-checks replayed probes once listening', () => {
  const apps: App[] = []
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close(5000)
  })
  async function serveApp(cacheDir: string, bin: string): Promise<App> {
    const config = loadConfig({ env: { TTS_CACHE_DIR: cacheDir, TTS_LOG_LEVEL: 'silent', TTS_ESPEAK_NG_BIN: bin } })
    const app = await buildApp(config, { logger: silent, defaultMetrics: false, listeners: true })
    apps.push(app)
    return app
  }

  it('a first start remembers its probes before it listens, with no re-check (a stop before the delayed re-check loses nothing)', async () => {
    const dir = await makeTempDir()
    const cacheDir = join(dir, 'cache')
    const { bin } = await wrappedEspeak(dir, '1.51.first')
    await serveApp(cacheDir, bin)
    const remembered = await ProbeMemo.load(join(cacheDir, PROBE_MEMO_FILE))
    expect(await detect(bin, remembered)).toBeDefined()
    expect(remembered.counts.ran).toBe(0)
    expect(remembered.counts.replayed).toBeGreaterThan(0)
  })

  it('adopts a version the engine reports differently since the last start: new renders get new keys', async () => {
    const dir = await makeTempDir()
    const cacheDir = join(dir, 'cache')
    const { bin, versionFile } = await wrappedEspeak(dir, '1.51.before')
    const first = await serveApp(cacheDir, bin)
    await first.recheckEngines() // nothing replayed: only remembers the probes
    const before = await first.service.get({ text: 'Press one for sales.' })
    expect(before.status).toBe('rendered')
    await first.close(5000)

    // The binary stays byte-for-byte the same; what it reports changes (a library upgrade).
    await writeFile(versionFile, 'eSpeak NG text-to-speech: 1.52.after  Data at: /nowhere\n')
    const second = await serveApp(cacheDir, bin)
    expect(second.engines.versionOf('espeak-ng')).toBe('1.51.before') // replayed
    expect((await second.service.get({ text: 'Press one for sales.' })).status).toBe('hit')
    await second.recheckEngines()
    expect(second.engines.versionOf('espeak-ng')).toBe('1.52.after')
    const after = await second.service.get({ text: 'Press one for sales.' })
    expect(after.status).toBe('rendered')
    expect(after.key).not.toBe(before.key)

    // The re-check remembered what it found: the next start replays the new version.
    await second.close(5000) // one service per cache directory (a second one refuses to start)
    const third = await serveApp(cacheDir, bin)
    expect(third.engines.versionOf('espeak-ng')).toBe('1.52.after')
  })
})
