import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterEach, describe, expect, it } from 'vitest'
import { isCanonicalWav, parseWavHeader } from '../../../src/audio/wav.js'
import {
  createEspeakNgEngine,
  espeakNgHasVoice,
  parseEspeakNgVariants,
  parseEspeakNgVersion,
  parseEspeakNgVoices,
} from '../../../src/engines/adapters/espeak-ng.js'
import { renderToFile } from '../../../src/engines/pipeline/render-audio.js'
import { makeTempDir, removeTempDirs, renderJob, silentLogger } from '../../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

async function soxi(path: string): Promise<{ rate: number; channels: number; bits: number; encoding: string }> {
  const field = async (flag: string): Promise<string> => (await execa('soxi', [flag, path])).stdout.trim()
  return {
    rate: Number(await field('-r')),
    channels: Number(await field('-c')),
    bits: Number(await field('-b')),
    encoding: await field('-e'),
  }
}

describe('espeak-ng engine', () => {
  for (const sampleRate of [8000, 16000]) {
    it(`renders "Hello World" to a canonical ${sampleRate} Hz mono PCM16 WAV`, async () => {
      const dir = await makeTempDir()
      const outPath = join(dir, 'out.wav')
      const audio = await renderToFile(renderJob(outPath, 'Hello World', { sampleRate }), {
        engine: createEspeakNgEngine(),
        logger: silentLogger,
      })

      const bytes = await readFile(outPath)
      const check = parseWavHeader(bytes, bytes.length)
      expect(check.ok).toBe(true)
      if (!check.ok) return
      expect(isCanonicalWav(check.info, sampleRate)).toBe(true)
      expect(check.info).toMatchObject({ channels: 1, bitsPerSample: 16, sampleRate })
      expect(audio.bytes).toBe(bytes.length)
      expect(audio.durationMs).toBeGreaterThan(0)
      // The engine's duration (sox is not read back): the file's, to the millisecond's rounding.
      expect(Math.abs(audio.durationMs - check.info.durationMs)).toBeLessThanOrEqual(1)
      expect(await soxi(outPath)).toEqual({ rate: sampleRate, channels: 1, bits: 16, encoding: 'Signed Integer PCM' })
      // Only the result is left: the engine's scratch file is gone.
      expect(await readdir(dir)).toEqual(['out.wav'])
    })
  }

  it('keeps the engine output as is when it is already canonical (22050 Hz): no sox run', async () => {
    const dir = await makeTempDir()
    const outPath = join(dir, 'out.wav')
    const audio = await renderToFile(renderJob(outPath, 'Hello', { sampleRate: 22050 }), {
      engine: createEspeakNgEngine(),
      // A sox that does not exist: the render only succeeds if no conversion is attempted.
      soxPath: join(dir, 'no-such-sox'),
    })
    expect(await soxi(outPath)).toMatchObject({ rate: 22050, channels: 1, bits: 16 })
    expect(audio.durationMs).toBeGreaterThan(0)
  })

  it('reads non-ASCII text as UTF-8 from stdin', async () => {
    const dir = await makeTempDir()
    const outPath = join(dir, 'out.wav')
    const audio = await renderToFile(renderJob(outPath, 'Grüße aus Köln, naïve café — 東京', { voice: 'de' }), {
      engine: createEspeakNgEngine(),
    })
    expect(audio.durationMs).toBeGreaterThan(0)
  })

  it('renders with an explicit voice and variant', async () => {
    const dir = await makeTempDir()
    const outPath = join(dir, 'out.wav')
    const audio = await renderToFile(renderJob(outPath, 'Hello', { voice: 'en-us+f3' }), { engine: createEspeakNgEngine() })
    expect(audio.durationMs).toBeGreaterThan(0)
  })

  it('builds an argv with the text on stdin only: --stdin -b 1 -w <out> [-v <voice>]', () => {
    const engine = createEspeakNgEngine()
    expect(engine.textInput).toBe('stdin')
    expect(engine.argv({ outPath: '/c/x.wav', voice: '', sampleRate: 8000 })).toEqual(['--stdin', '-b', '1', '-w', '/c/x.wav'])
    expect(engine.argv({ outPath: '/c/x.wav', voice: 'en-us', sampleRate: 8000 })).toEqual([
      '--stdin',
      '-b',
      '1',
      '-w',
      '/c/x.wav',
      '-v',
      'en-us',
    ])
  })

  it('builds a piped argv with the text on stdin only: --stdin -b 1 --stdout [-v <voice>]', () => {
    const engine = createEspeakNgEngine()
    expect(engine.stdoutArgv?.({ voice: '', sampleRate: 8000 })).toEqual(['--stdin', '-b', '1', '--stdout'])
    expect(engine.stdoutArgv?.({ voice: 'en-us+f3', sampleRate: 8000 })).toEqual(['--stdin', '-b', '1', '--stdout', '-v', 'en-us+f3'])
  })

  it('detects the installed version and voice list', async () => {
    const detection = await createEspeakNgEngine().detect({ timeoutMs: 10_000, killGraceMs: 100 })
    const { stdout } = await execa('espeak-ng', ['--version'])
    expect(stdout).toContain(detection.version)
    expect(detection.version).toMatch(/^\d+\.\d+/)
    expect(detection.voices?.has('en-us')).toBe(true)
    expect(detection.hasVoice?.('en+f3')).toBe(true)
    expect(detection.hasVoice?.('en-us+nosuchvariant')).toBe(false)
  })
})

describe('espeak-ng output parsing', () => {
  const voices = parseEspeakNgVoices(
    [
      'Pty Language       Age/Gender VoiceName          File                 Other Languages',
      ' 5  af              --/M      Afrikaans          gmw/af               ',
      ' 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)',
      ' 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)',
      ' 5  cmn             --/M      Chinese_(Mandarin,_latin_as_English) sit/cmn              (zh-cmn 5)(zh 5)',
    ].join('\n'),
  )
  const variants = parseEspeakNgVariants(
    [
      'Pty Language       Age/Gender VoiceName          File                 Other Languages',
      ' 5  variant         --/F      female3            !v/f3                ',
      ' 5  variant         --/M      Adam               !v/adam              ',
    ].join('\n'),
  )

  it('reads languages, other-language codes and names, case-insensitively', () => {
    for (const voice of ['af', 'afrikaans', 'en-gb', 'en', 'en-us', 'EN-US', 'cmn', 'zh-cmn', 'zh']) {
      expect(espeakNgHasVoice(voice, voices, variants), voice).toBe(true)
    }
    expect(espeakNgHasVoice('xx', voices, variants)).toBe(false)
  })

  it('accepts `<voice>+<variant>` only when both are listed', () => {
    expect(espeakNgHasVoice('en+f3', voices, variants)).toBe(true)
    expect(espeakNgHasVoice('en-us+female3', voices, variants)).toBe(true)
    expect(espeakNgHasVoice('en+Adam', voices, variants)).toBe(true)
    expect(espeakNgHasVoice('en+f9', voices, variants)).toBe(false)
    expect(espeakNgHasVoice('xx+f3', voices, variants)).toBe(false)
    expect(espeakNgHasVoice('+f3', voices, variants)).toBe(false)
  })

  it('reads the version number', () => {
    expect(parseEspeakNgVersion('eSpeak NG text-to-speech: 1.51  Data at: /usr/lib/x86_64-linux-gnu/espeak-ng-data\n')).toBe('1.51')
  })
})
