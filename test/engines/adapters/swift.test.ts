import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isCanonicalWav, parseWavHeader } from '../../../src/audio/wav.js'
import { renderToFile } from '../../../src/engines/pipeline/render-audio.js'
import { createSwiftEngine, swiftParams } from '../../../src/engines/adapters/swift.js'
import { fixture, makeTempDir, readArgvFile, removeTempDirs, renderJob } from '../../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

// Cepstral Swift is proprietary: test/fixtures/engines/swift is a stand-in that accepts only the
// documented options (-f -, -o, -n, -p name=value,…) and fails loudly on anything else.
describe('swift engine (documented CLI, via the strict stand-in)', () => {
  it('passes exactly the documented options, with voice and rate, and the text on stdin', async () => {
    const dir = await makeTempDir()
    const argvFile = join(dir, 'argv')
    const stdinFile = join(dir, 'stdin')
    const outPath = join(dir, 'out.wav')
    const engine = createSwiftEngine({
      path: fixture('swift'),
      env: { TTS_FIXTURE_ARGV: argvFile, TTS_FIXTURE_STDIN: stdinFile },
    })
    const text = '-n David <break time="9s"/> $(reboot)'

    const audio = await renderToFile(renderJob(outPath, text, { engine: 'swift', voice: 'Allison-8kHz', sampleRate: 8000 }), { engine })

    expect(await readArgvFile(argvFile)).toEqual([
      '-f',
      '-',
      '-o',
      `${outPath}.engine.wav`,
      '-n',
      'Allison-8kHz',
      '-p',
      'audio/channels=1,audio/sampling-rate=8000,audio/encoding=pcm16,tts/content-type=text/plain,tts/text-encoding=utf-8',
    ])
    expect(await readFile(stdinFile, 'utf8')).toBe(text)
    const bytes = await readFile(outPath)
    const check = parseWavHeader(bytes, bytes.length)
    expect(check.ok && isCanonicalWav(check.info, 8000)).toBe(true)
    expect(audio.durationMs).toBeGreaterThan(0)
  })

  it('omits -n for the default voice and asks for the requested rate', async () => {
    const dir = await makeTempDir()
    const argvFile = join(dir, 'argv')
    const outPath = join(dir, 'out.wav')
    const engine = createSwiftEngine({ path: fixture('swift'), env: { TTS_FIXTURE_ARGV: argvFile } })

    await renderToFile(renderJob(outPath, 'Hello', { engine: 'swift', sampleRate: 16000 }), { engine })

    expect(await readArgvFile(argvFile)).toEqual(['-f', '-', '-o', `${outPath}.engine.wav`, '-p', swiftParams(16000)])
    const bytes = await readFile(outPath)
    const check = parseWavHeader(bytes, bytes.length)
    expect(check.ok && isCanonicalWav(check.info, 16000)).toBe(true)
  })

  it('detects the version from `swift --version`', async () => {
    const detection = await createSwiftEngine({ path: fixture('swift') }).detect({ timeoutMs: 10_000, killGraceMs: 100 })
    expect(detection).toEqual({ version: 'Swift 6.2.3 stand-in (test fixture)' })
  })

  it('a voice the engine lacks fails the render with the engine error kept', async () => {
    const dir = await makeTempDir()
    const engine = createSwiftEngine({ path: fixture('swift') })
    const err: unknown = await renderToFile(renderJob(join(dir, 'out.wav'), 'Hello', { engine: 'swift', voice: 'Nobody' }), {
      engine,
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'TTS_ERR_RENDER_FAILED', details: { exitCode: 64 } })
    expect(String((err as { details: Record<string, unknown> }).details['stderrTail'])).toContain("voice 'Nobody' not found")
  })
})
