import { join } from 'node:path'
import { execa } from 'execa'
import { afterEach, describe, expect, it } from 'vitest'
import { createFliteEngine, parseFliteVersion, parseFliteVoices } from '../../../src/engines/adapters/flite.js'
import { renderToFile } from '../../../src/engines/pipeline/render-audio.js'
import { resolveExecutable } from '../../../src/engines/process/resolve-executable.js'
import { makeTempDir, removeTempDirs, renderJob } from '../../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

const fliteInstalled = (await resolveExecutable('flite', process.env['PATH'])) !== undefined

describe('flite engine', () => {
  it('reads the text from stdin via `-f -`, voice first', () => {
    const engine = createFliteEngine()
    expect(engine.textInput).toBe('stdin')
    expect(engine.argv({ outPath: '/c/x.wav', voice: 'slt', sampleRate: 8000 })).toEqual(['-voice', 'slt', '-f', '-', '-o', '/c/x.wav'])
    expect(engine.argv({ outPath: '/c/x.wav', voice: '', sampleRate: 8000 })).toEqual(['-f', '-', '-o', '/c/x.wav'])
  })

  it('parses `flite --version` and `flite -lv`', () => {
    expect(
      parseFliteVersion('  Carnegie Mellon University, Copyright (c) 1999-2016, all rights reserved\n  version: flite-2.2-current Sep 2018 (http://cmuflite.org)\n'),
    ).toBe('flite-2.2-current')
    expect([...parseFliteVoices('Voices available: kal awb_time kal16 awb rms slt \n')]).toEqual(['kal', 'awb_time', 'kal16', 'awb', 'rms', 'slt'])
  })

  // flite is optional on this machine (apt package `flite`); the real-binary checks run where it is.
  it.skipIf(!fliteInstalled)('renders with the installed flite to a canonical WAV', async () => {
    const dir = await makeTempDir()
    const engine = createFliteEngine()
    const detection = await engine.detect({ timeoutMs: 10_000, killGraceMs: 100 })
    // `flite --version` exits 1 after printing its version.
    expect((await execa('flite', ['--version'], { reject: false })).stdout).toContain(detection.version)
    expect(detection.voices?.has('slt')).toBe(true)
    const audio = await renderToFile(renderJob(join(dir, 'out.wav'), '-o /tmp/x Hello', { engine: 'flite', voice: 'slt' }), { engine })
    expect(audio.durationMs).toBeGreaterThan(0)
  })
})
