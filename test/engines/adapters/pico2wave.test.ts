import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createPico2waveEngine } from '../../../src/engines/adapters/pico2wave.js'
import { renderToFile } from '../../../src/engines/pipeline/render-audio.js'
import { fixture, makeTempDir, readArgvFile, removeTempDirs, renderJob } from '../../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

// pico2wave (non-free) is not installable here: test/fixtures/engines/pico2wave is a stand-in held
// to its documented CLI (`pico2wave -w <file.wav> [-l <lang>] <words>`).
describe('pico2wave engine', () => {
  it('passes the text as ONE argument after `--`, so a leading dash is never an option', async () => {
    const dir = await makeTempDir()
    const argvFile = join(dir, 'argv')
    const outPath = join(dir, 'out.wav')
    const engine = createPico2waveEngine({ path: fixture('pico2wave'), env: { TTS_FIXTURE_ARGV: argvFile } })
    const text = `-w ${join(dir, 'victim.wav')} --lang=xx $(touch ${join(dir, 'pwned')})`

    const audio = await renderToFile(renderJob(outPath, text, { engine: 'pico2wave', voice: 'en-GB', sampleRate: 8000 }), { engine })

    expect(await readArgvFile(argvFile)).toEqual(['-w', `${outPath}.engine.wav`, '-l', 'en-GB', '--', text])
    expect(audio.durationMs).toBeGreaterThan(0)
  })

  it('knows its fixed language list and versions itself by a digest of the binary', async () => {
    const detection = await createPico2waveEngine({ path: fixture('pico2wave') }).detect({ timeoutMs: 5000, killGraceMs: 100 })
    expect(detection.version).toMatch(/^sha256-[0-9a-f]{16}$/)
    expect([...(detection.voices ?? [])].sort()).toEqual(['de-DE', 'en-GB', 'en-US', 'es-ES', 'fr-FR', 'it-IT'])
  })
})
