import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { TtsError, isTtsError } from '../../../src/core/errors.js'
import { createCommandEngine } from '../../../src/engines/adapters/command.js'
import { createEspeakNgEngine } from '../../../src/engines/adapters/espeak-ng.js'
import { renderToFile } from '../../../src/engines/pipeline/render-audio.js'
import {
  fixture,
  isProcessAlive,
  makeTempDir,
  readPidFile,
  removeTempDirs,
  renderJob,
  silentLogger,
  waitForFile,
  ttsErrorOf,
} from '../../fixtures/engines/helpers.js'

afterEach(removeTempDirs)


function commandEngine(template: string[], env?: Record<string, string>) {
  return createCommandEngine({ template, env })
}

describe('render failures are typed and leave nothing behind', () => {
  it('an engine that exits 1 → TTS_ERR_RENDER_FAILED with exit code and the stderr tail', async () => {
    const dir = await makeTempDir()
    const outPath = join(dir, 'out.wav')
    const err = await ttsErrorOf(
      renderToFile(renderJob(outPath, 'hello', { engine: 'command' }), {
        engine: commandEngine([fixture('fail-with-stderr'), '{out}']),
      }),
    )
    expect(err.code).toBe('TTS_ERR_RENDER_FAILED')
    expect(err.message).toBe('engine command failed: exit code 1')
    expect(err.details).toMatchObject({ exitCode: 1, signal: null, timedOut: false })
    const tail = String(err.details['stderrTail'])
    expect(tail.endsWith('fixture: synthesis exploded (last words)\n')).toBe(true)
    // The fixture wrote > 3 KB of stderr; only the last 2 KB is kept.
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(2048)
    expect(tail).not.toContain('filler line 0:')
    expect(err.cause).toBeInstanceOf(Error)
    expect(await readdir(dir)).toEqual([])
  })

  it('an engine that exits 0 without writing anything → TTS_ERR_INVALID_AUDIO', async () => {
    const dir = await makeTempDir()
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'command' }), {
        engine: commandEngine([fixture('exit-0-no-output'), '{out}']),
      }),
    )
    expect(err.code).toBe('TTS_ERR_INVALID_AUDIO')
    expect(err.message).toContain('no output file')
    expect(await readdir(dir)).toEqual([])
  })

  it('an engine that exits 0 leaving an empty file → TTS_ERR_INVALID_AUDIO, file removed', async () => {
    const dir = await makeTempDir()
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'command' }), {
        engine: commandEngine([fixture('exit-0-no-output'), '--touch', '{out}']),
      }),
    )
    expect(err.code).toBe('TTS_ERR_INVALID_AUDIO')
    expect(err.message).toContain('empty output file')
    expect(await readdir(dir)).toEqual([])
  })

  it('an engine that writes garbage → TTS_ERR_INVALID_AUDIO, file removed', async () => {
    const dir = await makeTempDir()
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'command' }), {
        engine: commandEngine([fixture('write-garbage'), '{out}']),
      }),
    )
    expect(err.code).toBe('TTS_ERR_INVALID_AUDIO')
    expect(err.message).toContain('not a RIFF/WAVE file')
    expect(await readdir(dir)).toEqual([])
  })

  it('an engine that writes a WAV header without samples → TTS_ERR_INVALID_AUDIO', async () => {
    const dir = await makeTempDir()
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'command' }), {
        engine: commandEngine([fixture('write-empty-wav'), '{out}']),
      }),
    )
    expect(err.code).toBe('TTS_ERR_INVALID_AUDIO')
    expect(err.message).toContain('no audio samples')
    expect(await readdir(dir)).toEqual([])
  })

  it('a missing binary → TTS_ERR_ENGINE_UNAVAILABLE', async () => {
    const dir = await makeTempDir()
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'hello'), {
        engine: createEspeakNgEngine({ path: join(dir, 'no-such-espeak') }),
      }),
    )
    expect(err.code).toBe('TTS_ERR_ENGINE_UNAVAILABLE')
    expect(err.details).toMatchObject({ errno: 'ENOENT' })
    expect(await readdir(dir)).toEqual([])
  })

  it('a missing sox (when conversion is needed) → TTS_ERR_ENGINE_UNAVAILABLE for sox, nothing left', async () => {
    const dir = await makeTempDir()
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'hello', { sampleRate: 8000 }), {
        engine: createEspeakNgEngine(),
        soxPath: join(dir, 'no-such-sox'),
      }),
    )
    expect(err.code).toBe('TTS_ERR_ENGINE_UNAVAILABLE')
    expect(err.message).toContain('engine sox is not available')
    expect(await readdir(dir)).toEqual([])
  })
})

describe('timeouts and aborts kill the whole engine process tree', () => {
  it('a render past its timeout → TTS_ERR_RENDER_TIMEOUT; leader and grandchild are gone', async () => {
    const dir = await makeTempDir()
    const work = join(dir, 'work')
    const pidFile = join(dir, 'pids')
    await mkdir(work)
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(work, 'out.wav'), 'hello', { engine: 'command' }), {
        engine: commandEngine([fixture('hang-with-grandchild'), '{out}'], { TTS_FIXTURE_PIDFILE: pidFile }),
        // Room for the fixture to start and write its pid file; the kill is what is tested.
        timeoutMs: 3000,
        killGraceMs: 50,
        logger: silentLogger,
      }),
    )
    expect(err.code).toBe('TTS_ERR_RENDER_TIMEOUT')
    expect(err.message).toBe('engine command did not finish within 3000 ms')
    expect(err.details['timedOut']).toBe(true)
    expect(String(err.details['stderrTail'])).toContain('hang-with-grandchild: started')
    const { leader, grandchild } = await readPidFile(pidFile)
    // The fixture ignores SIGTERM: only the group SIGKILL after the grace ends it.
    expect(await isProcessAlive(leader)).toBe(false)
    expect(await isProcessAlive(grandchild)).toBe(false)
    expect(await readdir(work)).toEqual([])
  })

  it('aborting mid-render → TTS_ERR_ABORTED; the tree is killed and nothing is left', async () => {
    const dir = await makeTempDir()
    const work = join(dir, 'work')
    const pidFile = join(dir, 'pids')
    await mkdir(work)
    const controller = new AbortController()
    const rendering = renderToFile(renderJob(join(work, 'out.wav'), 'hello', { engine: 'command' }), {
      engine: commandEngine([fixture('hang-with-grandchild'), '{out}'], { TTS_FIXTURE_PIDFILE: pidFile }),
      signal: controller.signal,
      timeoutMs: 600_000,
      killGraceMs: 50,
    })
    await waitForFile(pidFile)
    const { leader, grandchild } = await readPidFile(pidFile)
    expect(await isProcessAlive(grandchild)).toBe(true)

    controller.abort()
    const err = await ttsErrorOf(rendering)

    expect(err.code).toBe('TTS_ERR_ABORTED')
    expect(await isProcessAlive(leader)).toBe(false)
    expect(await isProcessAlive(grandchild)).toBe(false)
    expect(await readdir(work)).toEqual([])
  })

  it("an abort whose reason is a TtsError rejects with that very error", async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const controller = new AbortController()
    const rendering = renderToFile(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'command' }), {
      engine: commandEngine([fixture('hang-with-grandchild'), '{out}'], { TTS_FIXTURE_PIDFILE: pidFile }),
      signal: controller.signal,
      killGraceMs: 50,
    })
    await waitForFile(pidFile)
    const reason = new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [3000] })
    controller.abort(reason)
    expect(await ttsErrorOf(rendering)).toBe(reason)
    const { grandchild } = await readPidFile(pidFile)
    expect(await isProcessAlive(grandchild)).toBe(false)
  })

  it('an already aborted signal never starts the engine', async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'command' }), {
        engine: commandEngine([fixture('hang-with-grandchild'), '{out}'], { TTS_FIXTURE_PIDFILE: pidFile }),
        signal: AbortSignal.abort(),
      }),
    )
    expect(isTtsError(err, 'TTS_ERR_ABORTED')).toBe(true)
    expect(await readdir(dir)).toEqual([])
  })
})
