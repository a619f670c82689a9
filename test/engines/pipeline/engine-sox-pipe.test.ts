import { mkdir, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa } from 'execa'
import { afterEach, describe, expect, it } from 'vitest'
import { isCanonicalWav, parseWavHeader } from '../../../src/audio/wav.js'
import { createEspeakNgEngine } from '../../../src/engines/adapters/espeak-ng.js'
import { renderToFile } from '../../../src/engines/pipeline/render-audio.js'
import {
  fixture,
  isProcessAlive,
  livingPidsWithArgument,
  makeTempDir,
  readPidFile,
  removeTempDirs,
  renderJob,
  silentLogger,
  waitForFile,
  ttsErrorOf,
} from '../../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

// espeak-ng speaks at 22,050 Hz and these renders ask for 8 kHz: its WAV is piped into sox.
// Fixture engines stand in for the espeak-ng binary (they ignore its `--stdout` argv).


function fixtureEspeak(name: string, env?: Record<string, string>) {
  return createEspeakNgEngine({ path: fixture(name), env })
}

describe('piped render: engine stdout → sox stdin', () => {
  it('gives the same WAV as the engine writing a file then sox converting it (format and length)', async () => {
    const dir = await makeTempDir()
    const text = 'The piped render and the classic one say the same thing.'
    const outPath = join(dir, 'out.wav')
    const audio = await renderToFile(renderJob(outPath, text), { engine: createEspeakNgEngine(), logger: silentLogger })

    const classic = join(dir, 'classic.22k.wav')
    const classicOut = join(dir, 'classic.wav')
    await execa('espeak-ng', ['--stdin', '-b', '1', '-w', classic], { input: text })
    await execa('sox', ['-t', 'wav', classic, '-t', 'wav', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', classicOut])

    const piped = await readFile(outPath)
    const reference = await readFile(classicOut)
    const check = parseWavHeader(piped, piped.length)
    expect(check.ok && isCanonicalWav(check.info, 8000)).toBe(true)
    // sox dithers with a random seed, so the samples differ in their last bit; all else matches.
    expect(piped.length).toBe(reference.length)
    expect(piped.subarray(0, 44)).toEqual(reference.subarray(0, 44))
    expect(audio.bytes).toBe(piped.length)
    expect(await readdir(dir)).toEqual(['classic.22k.wav', 'classic.wav', 'out.wav'].sort())
  })

  it('an engine that fails after sox converted its output → the engine error, not a success', async () => {
    const dir = await makeTempDir()
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'Hello there'), { engine: fixtureEspeak('stdout-speak-then-fail') }),
    )
    expect(err.code).toBe('TTS_ERR_RENDER_FAILED')
    expect(err.message).toBe('engine espeak-ng failed: exit code 3')
    expect(String(err.details['stderrTail'])).toContain('the engine failed after speaking')
    expect(await readdir(dir)).toEqual([])
  })

  it('an engine that fails without output → its own error and stderr tail, not the sox error that follows', async () => {
    const dir = await makeTempDir()
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'hello'), { engine: fixtureEspeak('fail-with-stderr') }),
    )
    expect(err.code).toBe('TTS_ERR_RENDER_FAILED')
    expect(err.message).toBe('engine espeak-ng failed: exit code 1')
    expect(String(err.details['stderrTail'])).toContain('fixture: synthesis exploded (last words)')
    expect(await readdir(dir)).toEqual([])
  })

  it('an engine that exits 0 with garbage on stdout → TTS_ERR_INVALID_AUDIO, nothing left', async () => {
    const dir = await makeTempDir()
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'hello'), { engine: fixtureEspeak('stdout-garbage') }),
    )
    expect(err.code).toBe('TTS_ERR_INVALID_AUDIO')
    expect(err.message).toContain('not a RIFF/WAVE file')
    expect(await readdir(dir)).toEqual([])
  })

  it('an engine that exits 0 with nothing on stdout → TTS_ERR_INVALID_AUDIO, nothing left', async () => {
    const dir = await makeTempDir()
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), 'hello'), { engine: fixtureEspeak('exit-0-no-output') }),
    )
    expect(err.code).toBe('TTS_ERR_INVALID_AUDIO')
    expect(err.message).toContain('no output')
    expect(await readdir(dir)).toEqual([])
  })

  it('a sox that fails (and stops reading early) → the sox error with its stderr; the engine is not left blocked', async () => {
    const dir = await makeTempDir()
    // Long enough that the engine writes far more than a pipe holds after sox has gone.
    const text = 'This sentence is long enough to fill a pipe buffer several times over. '.repeat(8)
    const err = await ttsErrorOf(
      renderToFile(renderJob(join(dir, 'out.wav'), text), {
        engine: createEspeakNgEngine(),
        soxPath: fixture('sox-fails-early'),
        // Far beyond the render: a blocked engine would show up as a timeout instead.
        timeoutMs: 10_000,
      }),
    )
    expect(err.code).toBe('TTS_ERR_RENDER_FAILED')
    expect(err.message).toBe('engine sox failed: exit code 2')
    expect(String(err.details['stderrTail'])).toContain('sox FAIL formats: fixture cannot convert this')
    expect(await readdir(dir)).toEqual([])
  })

  it('aborting mid-render kills the engine tree and sox; nothing is left', async () => {
    const dir = await makeTempDir()
    const work = join(dir, 'work')
    const pidFile = join(dir, 'pids')
    await mkdir(work)
    const outPath = join(work, 'out.wav')
    const controller = new AbortController()
    const rendering = renderToFile(renderJob(outPath, 'hello'), {
      engine: fixtureEspeak('hang-with-grandchild', { TTS_FIXTURE_PIDFILE: pidFile }),
      signal: controller.signal,
      timeoutMs: 600_000,
      killGraceMs: 50,
    })
    await waitForFile(pidFile)
    const { leader, grandchild } = await readPidFile(pidFile)
    // sox waits for the engine's output, writing to outPath: find it by that argument.
    let sox: number[] = []
    while (sox.length === 0) {
      sox = await livingPidsWithArgument(outPath)
      if (sox.length === 0) await sleep(10)
    }

    controller.abort()
    const err = await ttsErrorOf(rendering)

    expect(err.code).toBe('TTS_ERR_ABORTED')
    expect(await isProcessAlive(leader)).toBe(false)
    expect(await isProcessAlive(grandchild)).toBe(false)
    expect(await livingPidsWithArgument(outPath)).toEqual([])
    expect(await readdir(work)).toEqual([])
  })

  it('an engine past its timeout → TTS_ERR_RENDER_TIMEOUT for the engine (not sox, which timed out with it)', async () => {
    const dir = await makeTempDir()
    const work = join(dir, 'work')
    await mkdir(work)
    const outPath = join(work, 'out.wav')
    const err = await ttsErrorOf(
      renderToFile(renderJob(outPath, 'hello'), {
        engine: fixtureEspeak('hang-with-grandchild', { TTS_FIXTURE_PIDFILE: join(dir, 'pids') }),
        timeoutMs: 1500,
        killGraceMs: 50,
      }),
    )
    expect(err.code).toBe('TTS_ERR_RENDER_TIMEOUT')
    expect(err.message).toBe('engine espeak-ng did not finish within 1500 ms')
    expect(String(err.details['stderrTail'])).toContain('hang-with-grandchild: started')
    const { leader, grandchild } = await readPidFile(join(dir, 'pids'))
    expect(await isProcessAlive(leader)).toBe(false)
    expect(await isProcessAlive(grandchild)).toBe(false)
    expect(await livingPidsWithArgument(outPath)).toEqual([])
    expect(await readdir(work)).toEqual([])
  })
})
