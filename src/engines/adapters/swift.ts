import type { EngineAdapter, EngineBinaryOptions, EngineDefinition, EngineDetection, ProbeOptions } from './engine-adapter.js'
import { firstLine, probeStdout, requireExecutable, requireVersion } from './engine-probe.js'

/**
 * Cepstral Swift (proprietary; not installable here: tests run a strict stand-in). Render argv:
 *
 *   swift -f - -o <out> [-n <voice>] -p audio/channels=1,audio/sampling-rate=<rate>,
 *         audio/encoding=pcm16,tts/content-type=text/plain,tts/text-encoding=utf-8
 *
 * `-f -` reads the text from stdin; `-n` picks the voice, `-o` the output file (RIFF/WAV by its
 * `.wav` extension); `-p` sets engine parameters. Swift parses its input as SSML by default, so
 * `tts/content-type=text/plain` turns markup off (the text is only ever spoken), and
 * `tts/text-encoding=utf-8` fixes the input encoding. It renders at the requested rate itself.
 * Version: the first line of `swift --version` (pin `version` if your build lacks the flag).
 * Voices are not listed up front (an unknown voice fails the render).
 */
export function createSwiftEngine(options: EngineBinaryOptions = {}): EngineAdapter {
  const id = swiftEngine.id
  const binary = options.path ?? swiftEngine.defaultBinary
  return {
    id,
    binary,
    textInput: 'stdin',
    env: options.env,
    async detect(probe: ProbeOptions): Promise<EngineDetection> {
      if (options.version !== undefined) {
        await requireExecutable(id, binary, probe.searchPath)
        return { version: options.version }
      }
      const out = await probeStdout(id, binary, ['--version'], probe, options.env)
      return { version: requireVersion(id, firstLine(out)) }
    },
    argv({ outPath, voice, sampleRate }) {
      return [
        '-f',
        '-',
        '-o',
        outPath,
        ...(voice === '' ? [] : ['-n', voice]),
        '-p',
        swiftParams(sampleRate),
      ]
    },
    nativeRate: ({ sampleRate }) => sampleRate,
  }
}

/** The `-p` value: comma-separated `name=value` engine parameters. */
export function swiftParams(sampleRate: number): string {
  return [
    'audio/channels=1',
    `audio/sampling-rate=${sampleRate}`,
    'audio/encoding=pcm16',
    'tts/content-type=text/plain',
    'tts/text-encoding=utf-8',
  ].join(',')
}

/** Cepstral Swift in the engine registry (adapters/index.ts). */
export const swiftEngine = {
  id: 'swift',
  defaultBinary: 'swift',
  create: (own) => createSwiftEngine(own),
} as const satisfies EngineDefinition
