import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Logger } from '../../../src/core/ports/index.js'
import { parseWavHeader } from '../../../src/audio/wav.js'
import { RenderHost } from '../../../src/engines/host/render-host.js'
import { fixture, isProcessAlive, makeTempDir, readPidFile, removeTempDirs, renderJob, waitForFile, ttsErrorOf } from '../../fixtures/engines/helpers.js'

const hosts: RenderHost[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.close()))
  await removeTempDirs()
})

interface LogLine {
  readonly level: string
  readonly obj: object
  readonly msg: string | undefined
}

function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg })
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger }
  return logger
}

/** A host with espeak-ng and a `command` engine running `template` (its env gets `env`). */
function startHost(template: string[], env: Record<string, string> = {}, lines: LogLine[] = []): RenderHost {
  const host = new RenderHost({
    adapters: { commandTemplate: template, engines: { command: { env } } },
    enabled: ['espeak-ng', 'command'],
    timeoutMs: 20_000,
    killGraceMs: 50,
    soxPath: undefined,
    logger: recordingLogger(lines),
  })
  hosts.push(host)
  return host
}


/** Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, … [16] nice. */
async function statOf(pid: number): Promise<string[]> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

async function parentOf(pid: number): Promise<number> {
  return Number((await statOf(pid))[1])
}

async function niceOf(pid: number): Promise<number> {
  return Number((await statOf(pid))[16])
}

describe('RenderHost: renders in a child process', () => {
  it('renders a canonical WAV with real espeak-ng + sox, the engine started by the host, not by us', async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const host = startHost([fixture('hang-with-grandchild'), '{out}'], { TTS_FIXTURE_PIDFILE: pidFile })
    const outPath = join(dir, 'hello.wav')
    const audio = await host.render(renderJob(outPath, 'Hello from the render host.'), new AbortController().signal)
    const wav = parseWavHeader(await readFile(outPath), audio.bytes)
    expect(wav.ok && wav.info).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16 })
    expect(audio.durationMs).toBeGreaterThan(500)

    // Whose child is an engine process? The host's.
    const controller = new AbortController()
    const hanging = host.render(renderJob(join(dir, 'hang.wav'), 'x', { engine: 'command' }), controller.signal)
    await waitForFile(pidFile)
    const { leader, grandchild } = await readPidFile(pidFile)
    expect(await parentOf(leader)).toBe(host.pid)
    expect(host.pid).not.toBe(process.pid)
    // Renders give way to hits: the host and the engines it starts run at a lower priority.
    expect(await niceOf(host.pid ?? 0)).toBe(10)
    expect(await niceOf(leader)).toBe(10)
    controller.abort()
    const err = await ttsErrorOf(hanging)
    expect(err.code).toBe('TTS_ERR_ABORTED')
    // Settled only once the group was killed, in the host.
    expect(await isProcessAlive(leader)).toBe(false)
    expect(await isProcessAlive(grandchild)).toBe(false)
  })

  it('hands back the engine errors typed, with their details (exit code, stderr tail)', async () => {
    const dir = await makeTempDir()
    const host = startHost([fixture('fail-with-stderr'), '{out}'])
    const err = await ttsErrorOf(host.render(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'command' }), new AbortController().signal))
    expect(err.code).toBe('TTS_ERR_RENDER_FAILED')
    expect(err.message).toBe('engine command failed: exit code 1')
    expect(err.details).toMatchObject({ exitCode: 1, timedOut: false })
    expect(String(err.details['stderrTail'])).toContain('fixture: synthesis exploded (last words)')
    expect(await readdir(dir)).toEqual([])
    const unknown = await ttsErrorOf(host.render(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'swift' }), new AbortController().signal))
    expect(unknown.code).toBe('TTS_ERR_UNKNOWN_ENGINE')
  })

  it('forwards the render logs to the service logger', async () => {
    const dir = await makeTempDir()
    const lines: LogLine[] = []
    const host = startHost([fixture('fail-with-stderr'), '{out}'], {}, lines)
    // espeak-ng writes 22 kHz: the renderer logs, at debug, that it pipes it into sox.
    await host.render(renderJob(join(dir, 'out.wav'), 'Logs travel.'), new AbortController().signal)
    expect(lines).toContainEqual({ level: 'debug', obj: expect.objectContaining({ expectedRate: 22050, to: 8000 }), msg: 'piping engine output into sox' })
  })

  it('drops in the host the records the service logger would drop (below its level), instead of sending each over IPC', async () => {
    const dir = await makeTempDir()
    const lines: LogLine[] = []
    const host = new RenderHost({
      adapters: { commandTemplate: [fixture('fail-with-stderr'), '{out}'] },
      enabled: ['espeak-ng', 'command'],
      timeoutMs: 20_000,
      killGraceMs: 50,
      soxPath: undefined,
      // pino's shape: the level it writes from.
      logger: Object.assign(recordingLogger(lines), { level: 'info' }),
    })
    hosts.push(host)
    const audio = await host.render(renderJob(join(dir, 'out.wav'), 'Quiet logs.'), new AbortController().signal)
    expect(audio.bytes).toBeGreaterThan(44)
    expect(lines.filter((line) => line.level === 'debug')).toEqual([])
  })

  it('a host that dies fails the renders it held, and the next render starts a new one', async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const lines: LogLine[] = []
    const host = startHost([fixture('hang-with-grandchild'), '{out}'], { TTS_FIXTURE_PIDFILE: pidFile }, lines)
    const held = host.render(renderJob(join(dir, 'held.wav'), 'x', { engine: 'command' }), new AbortController().signal)
    await waitForFile(pidFile)
    const { leader } = await readPidFile(pidFile)
    const first = host.pid
    process.kill(first ?? 0, 'SIGKILL')
    const err = await ttsErrorOf(held)
    expect(err.code).toBe('TTS_ERR_RENDER_FAILED')
    expect(err.message).toBe('engine render host failed: exited with SIGKILL')
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'render host exited; it is started again on the next render' }))
    process.kill(-leader, 'SIGKILL') // What the SIGKILLed host could not clean up (the test's own mess).

    const audio = await host.render(renderJob(join(dir, 'after.wav'), 'Back again.'), new AbortController().signal)
    expect(audio.bytes).toBeGreaterThan(44)
    expect(host.pid).not.toBe(first)
  })

  it('holds this process open while a render is owed (a caller listening on nothing still gets its answer), and not while idle', async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const host = startHost([fixture('hang-with-grandchild'), '{out}'], { TTS_FIXTURE_PIDFILE: pidFile })
    // What keeps the event loop alive, counted: the host's IPC channel is a pipe.
    const pipes = (): number => process.getActiveResourcesInfo().filter((name) => name === 'PipeWrap').length
    await host.render(renderJob(join(dir, 'first.wav'), 'Started.'), new AbortController().signal)
    const idle = pipes()
    const controller = new AbortController()
    const held = host.render(renderJob(join(dir, 'held.wav'), 'x', { engine: 'command' }), controller.signal)
    await waitForFile(pidFile)
    expect(pipes()).toBe(idle + 1)
    controller.abort()
    expect((await ttsErrorOf(held)).code).toBe('TTS_ERR_ABORTED')
    expect(pipes()).toBe(idle)
  })

  it('close ends the host and aborts what it still runs; later renders are refused', async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const host = startHost([fixture('hang-with-grandchild'), '{out}'], { TTS_FIXTURE_PIDFILE: pidFile })
    const held = host.render(renderJob(join(dir, 'held.wav'), 'x', { engine: 'command' }), new AbortController().signal)
    await waitForFile(pidFile)
    const { leader, grandchild } = await readPidFile(pidFile)
    const pid = host.pid ?? 0
    const heldFailure = ttsErrorOf(held)
    await host.close()
    expect(await isProcessAlive(pid)).toBe(false)
    expect(await isProcessAlive(leader)).toBe(false)
    expect(await isProcessAlive(grandchild)).toBe(false)
    expect((await heldFailure).code).toBe('TTS_ERR_RENDER_FAILED')
    expect((await ttsErrorOf(host.render(renderJob(join(dir, 'late.wav'), 'x'), new AbortController().signal))).code).toBe('TTS_ERR_SHUTTING_DOWN')
  })
})

describe('RenderHost.probe', () => {
  it('runs the engine probes in the host and returns what they printed, for a memo to replay without a process start', async () => {
    const { EngineCatalog } = await import('../../../src/engines/catalog.js')
    const { ProbeMemo } = await import('../../../src/engines/probe-memo.js')
    const host = startHost(['true', '{out}'])
    const entries = await host.probe('espeak-ng')
    const versionProbe = entries.find(([key]) => key.includes('"--version"') && key.includes('espeak-ng'))
    expect(versionProbe?.[1]).toMatch(/text-to-speech: \S+/)

    const replay = ProbeMemo.replaying('', entries)
    const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }
    const catalog = await EngineCatalog.detect({ defaultEngine: 'espeak-ng', commandTemplate: ['true', '{out}'], logger: silent, memo: replay })
    expect(replay.counts.ran).toBe(0)
    expect(catalog.versionOf('espeak-ng')).toBe(/text-to-speech:\s*(\S+)/.exec(versionProbe?.[1] ?? '')?.[1])
  })

  it('rejects with the detection error when the default engine cannot run there', async () => {
    const host = new RenderHost({ adapters: { engines: { 'espeak-ng': { path: '/nonexistent/espeak-ng' } } }, enabled: ['espeak-ng'], timeoutMs: 20_000, killGraceMs: 50, soxPath: undefined, logger: recordingLogger([]) })
    hosts.push(host)
    const err = await ttsErrorOf(host.probe('espeak-ng'))
    expect(err.code).toBe('TTS_ERR_ENGINE_UNAVAILABLE')
  })
})
