/**
 * The renderer port's contract (`(job, signal) => RenderedAudio`), run against every
 * implementation and every fake the tests use: the in-process engine renderer, the render host
 * (a child process running the same pipeline), the HTTP tests' FakeRenderer and the cluster
 * tests' CountingRenderer. A renderer writes a canonical WAV at `outPath` and reports what it
 * measured, passes the engine's typed error through unchanged, and settles once its signal aborts
 * — the real ones only after the engine's whole process group is gone.
 *
 * The real renderers fail and hang with the fixture engines (test/fixtures/engines); a fake is
 * told to fail (its own API) and held (a hang it can be released from).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseWavHeader } from '../../src/audio/wav.js'
import { TtsError } from '../../src/core/errors.js'
import type { Renderer, RenderJob } from '../../src/core/ports/index.js'
import { adaptersById } from '../../src/engines/adapters/index.js'
import type { EngineAdapterOptions } from '../../src/engines/adapters/engine-adapter.js'
import { RenderHost } from '../../src/engines/host/render-host.js'
import { createEngineRenderer } from '../../src/engines/pipeline/engine-renderer.js'
import { fixture, isProcessAlive, makeTempDir, readPidFile, removeTempDirs, renderJob, silentLogger, ttsErrorOf, waitForFile } from '../fixtures/engines/helpers.js'
import { FakeRenderer } from '../fakes/fake-renderer.js'
import { CountingRenderer } from '../fakes/counting-renderer.js'

/** What a case asks of the renderer: speak normally, fail as the engine fails, or hang until aborted. */
type Scenario = 'speak' | 'fail' | 'hang'

interface Subject {
  readonly render: Renderer
  /** The job's engine for this scenario. */
  readonly engine: string
  /** Resolves once the render is under way (for `hang`). */
  started(): Promise<void>
  /** The pids a `hang` render started (the real renderers), to check none is left behind. */
  pids?(): Promise<readonly number[]>
  close(): Promise<void>
}

type Factory = (scenario: Scenario, dir: string) => Subject

/** The fail-with-stderr fixture's error, as the pipeline types it (what a fake is told to throw). */
function engineFailure(): TtsError {
  return new TtsError('TTS_ERR_RENDER_FAILED', {
    args: ['command', 'exit code 1'],
    details: { exitCode: 1, signal: null, timedOut: false, stderrTail: 'fixture: synthesis exploded (last words)\n' },
  })
}

/** espeak-ng for `speak`; the `command` engine running a fixture for `fail` and `hang`. */
function engineSetup(scenario: Scenario, dir: string): { options: EngineAdapterOptions; engine: string; pidFile: string } {
  const pidFile = join(dir, 'pids')
  const template = scenario === 'fail' ? [fixture('fail-with-stderr'), '{out}'] : [fixture('hang-with-grandchild'), '{out}']
  return {
    options: { commandTemplate: template, engines: { command: { env: { TTS_FIXTURE_PIDFILE: pidFile } } } },
    engine: scenario === 'speak' ? 'espeak-ng' : 'command',
    pidFile,
  }
}

async function pidsOf(pidFile: string): Promise<readonly number[]> {
  const { leader, grandchild } = await readPidFile(pidFile)
  return [leader, grandchild]
}

const inProcess: Factory = (scenario, dir) => {
  const { options, engine, pidFile } = engineSetup(scenario, dir)
  const adapters = adaptersById(options)
  const render = createEngineRenderer(
    {
      adapter: (id) => {
        const adapter = adapters.get(id)
        if (adapter === undefined) throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [id] })
        return adapter
      },
    },
    { timeoutMs: 20_000, killGraceMs: 50, logger: silentLogger },
  )
  return { render, engine, started: () => waitForFile(pidFile), pids: () => pidsOf(pidFile), close: async () => undefined }
}

const renderHost: Factory = (scenario, dir) => {
  const { options, engine, pidFile } = engineSetup(scenario, dir)
  const host = new RenderHost({ adapters: options, enabled: ['espeak-ng', 'command'], timeoutMs: 20_000, killGraceMs: 50, soxPath: undefined, logger: silentLogger })
  return { render: host.render, engine, started: () => waitForFile(pidFile), pids: () => pidsOf(pidFile), close: () => host.close() }
}

const fakeRenderer: Factory = (scenario) => {
  const fake = new FakeRenderer()
  if (scenario === 'fail') fake.failNext(engineFailure())
  if (scenario === 'hang') fake.hold()
  return {
    render: fake.render,
    engine: 'espeak-ng',
    started: () => fake.waitForStarted(1),
    close: async () => fake.release(),
  }
}

const countingRenderer: Factory = (scenario) => {
  const fake = new CountingRenderer()
  if (scenario === 'fail') fake.failWith(TEXT, engineFailure)
  if (scenario === 'hang') fake.hold()
  return {
    render: fake.render,
    engine: 'espeak-ng',
    started: async () => {
      await fake.nextStart()
    },
    close: async () => fake.release(),
  }
}

const TEXT = 'The renderer contract.'

const subjects: readonly [string, Factory][] = [
  ['in-process engine renderer', inProcess],
  ['render host', renderHost],
  ['FakeRenderer (HTTP tests)', fakeRenderer],
  ['CountingRenderer (cluster tests)', countingRenderer],
]

const opened: Subject[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((subject) => subject.close()))
  await removeTempDirs()
})

async function subjectFor(factory: Factory, scenario: Scenario): Promise<{ subject: Subject; job: RenderJob; dir: string }> {
  const dir = await makeTempDir('tts-renderer-contract-')
  const subject = factory(scenario, dir)
  opened.push(subject)
  return { subject, job: renderJob(join(dir, 'out.wav'), TEXT, { engine: subject.engine }), dir }
}

describe.each(subjects)('Renderer contract: %s', (_name, factory) => {
  it('writes a canonical WAV (PCM16 mono at the requested rate) at outPath and reports its size and duration', async () => {
    const { subject, job } = await subjectFor(factory, 'speak')
    const audio = await subject.render(job, new AbortController().signal)
    const bytes = await readFile(job.outPath)
    expect(audio.bytes).toBe(bytes.length)
    const wav = parseWavHeader(bytes, bytes.length)
    expect(wav.ok && wav.info).toMatchObject({ sampleRate: job.request.sampleRate, channels: 1, bitsPerSample: 16 })
    expect(audio.durationMs).toBeGreaterThan(0)
    // A plain render is a render: only a queue backend says it joined or copied one.
    expect(audio.origin ?? 'rendered').toBe('rendered')
  })

  it('rejects with the engine’s typed error, unchanged (code, exit code, stderr tail)', async () => {
    const { subject, job } = await subjectFor(factory, 'fail')
    const err = await ttsErrorOf(subject.render(job, new AbortController().signal))
    expect(err.code).toBe('TTS_ERR_RENDER_FAILED')
    expect(err.details).toMatchObject({ exitCode: 1, timedOut: false })
    expect(String(err.details['stderrTail']).endsWith('fixture: synthesis exploded (last words)\n')).toBe(true)
  })

  it('settles with TTS_ERR_ABORTED once its signal aborts mid-render, and leaves no process behind', async () => {
    const { subject, job } = await subjectFor(factory, 'hang')
    const controller = new AbortController()
    const rendering = subject.render(job, controller.signal)
    await subject.started()
    const pids = (await subject.pids?.()) ?? []
    for (const pid of pids) expect(await isProcessAlive(pid)).toBe(true)
    controller.abort()
    const err = await ttsErrorOf(rendering)
    expect(err.code).toBe('TTS_ERR_ABORTED')
    // Settled only once the engine's group (leader and grandchild, which ignore SIGTERM) is gone.
    for (const pid of pids) expect(await isProcessAlive(pid)).toBe(false)
  })
})
