import type { EngineAdapter, EngineBinaryOptions, EngineDefinition, EngineDetection, ProbeOptions } from './engine-adapter.js'
import { firstLine, probeStdout, requireExecutable, requireVersion } from './engine-probe.js'

/** espeak-ng writes 22050 Hz PCM16 mono whatever the voice. */
const ESPEAK_NG_RATE_HZ = 22_050

/**
 * eSpeak NG (the default engine). Render argv: `--stdin -b 1 -w <out> [-v <voice>]`, or
 * `--stdin -b 1 --stdout [-v <voice>]` when its WAV is streamed into sox: the whole text is read
 * from stdin as UTF-8 (`-b 1`), never from argv, and no markup flag (`-m` SSML) is given, so `<`,
 * `-w` or shell syntax in the text are only ever spoken.
 */
export function createEspeakNgEngine(options: EngineBinaryOptions = {}): EngineAdapter {
  const id = espeakNgEngine.id
  const binary = options.path ?? espeakNgEngine.defaultBinary
  return {
    id,
    binary,
    textInput: 'stdin',
    env: options.env,
    async detect(probe: ProbeOptions): Promise<EngineDetection> {
      const [version, voiceList, variantList] = await Promise.all([
        options.version === undefined
          ? probeStdout(id, binary, ['--version'], probe, options.env).then((out) => requireVersion(id, parseEspeakNgVersion(out)))
          : requireExecutable(id, binary, probe.searchPath).then(() => options.version ?? ''),
        probeStdout(id, binary, ['--voices'], probe, options.env),
        probeStdout(id, binary, ['--voices=variant'], probe, options.env),
      ])
      const voices = parseEspeakNgVoices(voiceList)
      const variants = parseEspeakNgVariants(variantList)
      return { version, voices, hasVoice: (voice) => espeakNgHasVoice(voice, voices, variants) }
    },
    argv({ outPath, voice }) {
      return ['--stdin', '-b', '1', '-w', outPath, ...voiceArgv(voice)]
    },
    stdoutArgv({ voice }) {
      return ['--stdin', '-b', '1', '--stdout', ...voiceArgv(voice)]
    },
    nativeRate: () => ESPEAK_NG_RATE_HZ,
  }
}

function voiceArgv(voice: string): readonly string[] {
  return voice === '' ? [] : ['-v', voice]
}

/** `eSpeak NG text-to-speech: 1.51  Data at: …` → `1.51`. */
export function parseEspeakNgVersion(stdout: string): string {
  const match = /text-to-speech:\s*(\S+)/.exec(stdout)
  return match?.[1] ?? firstLine(stdout)
}

/**
 * Voice names from `espeak-ng --voices`, lower-cased (espeak-ng matches them case-insensitively):
 * the Language column (`en-us`), the codes under "Other Languages" (`(en 3)` → `en`) and the
 * VoiceName (`afrikaans`). Columns: Pty Language Age/Gender VoiceName File [Other Languages].
 */
export function parseEspeakNgVoices(stdout: string): ReadonlySet<string> {
  const voices = new Set<string>()
  for (const line of stdout.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    const [, language, , name] = cols
    if (language === undefined || name === undefined) continue
    voices.add(language.toLowerCase())
    voices.add(name.toLowerCase())
    for (const match of line.matchAll(/\(([^\s()]+) \d+\)/g)) {
      if (match[1] !== undefined) voices.add(match[1].toLowerCase())
    }
  }
  return voices
}

/**
 * Variant names from `espeak-ng --voices=variant`, lower-cased: the file name after `!v/`
 * (`f3`, `m3`, `klatt`) and the VoiceName (`female3`, `male3`). Used as `<voice>+<variant>`.
 */
export function parseEspeakNgVariants(stdout: string): ReadonlySet<string> {
  const variants = new Set<string>()
  for (const line of stdout.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    const [, , , name, file] = cols
    if (name === undefined || file === undefined) continue
    variants.add(name.toLowerCase())
    variants.add(file.replace(/^!v\//, '').toLowerCase())
  }
  return variants
}

/** `en-us`, `EN-US`, `en+f3`: a listed voice, optionally with one listed `+variant`. */
export function espeakNgHasVoice(voice: string, voices: ReadonlySet<string>, variants: ReadonlySet<string>): boolean {
  const lower = voice.toLowerCase()
  const plus = lower.indexOf('+')
  if (plus === -1) return voices.has(lower)
  return voices.has(lower.slice(0, plus)) && variants.has(lower.slice(plus + 1))
}

/** eSpeak NG in the engine registry (adapters/index.ts). */
export const espeakNgEngine = {
  id: 'espeak-ng',
  defaultBinary: 'espeak-ng',
  create: (own) => createEspeakNgEngine(own),
} as const satisfies EngineDefinition
