import type { EngineAdapter, EngineBinaryOptions, EngineDefinition, EngineDetection, ProbeOptions } from './engine-adapter.js'
import { binaryDigestVersion, probeStdout } from './engine-probe.js'

/** The languages pico2wave ships lingware for (its `-l` accepts exactly these). */
export const PICO2WAVE_VOICES: ReadonlySet<string> = new Set(['en-US', 'en-GB', 'de-DE', 'es-ES', 'fr-FR', 'it-IT'])

const PICO2WAVE_RATE_HZ = 16_000

/**
 * SVOX Pico. Render argv: `-w <out> [-l <lang>] -- <text>`.
 *
 * pico2wave cannot be relied on to read stdin: its documented CLI (Debian/Ubuntu man page,
 * `pico2wave <words>`) takes the text only as arguments, and upstream exits with "Missing
 * argument: <words>" otherwise (only some forks fall back to stdin). So this is the one engine
 * whose text is in argv: ONE element, after `--` (popt ends option parsing there), so text such
 * as `-w /etc/passwd` is spoken and never parsed; still no shell is involved. The price: the text
 * shows in the process list while it renders, and is bounded by the kernel's per-argument limit
 * (128 KiB, far above the text limit). `-w` must end in `.wav` (pico picks the format by it).
 * No version flag: the version is a digest of the binary (pin `version` to override).
 */
export function createPico2waveEngine(options: EngineBinaryOptions = {}): EngineAdapter {
  const id = pico2waveEngine.id
  const binary = options.path ?? pico2waveEngine.defaultBinary
  return {
    id,
    binary,
    textInput: 'argv-after-dashes',
    env: options.env,
    async detect(probe: ProbeOptions): Promise<EngineDetection> {
      // `--usage` (popt) proves the binary runs; it prints a synopsis and exits 0.
      await probeStdout(id, binary, ['--usage'], probe, options.env)
      const version = options.version ?? (await binaryDigestVersion(id, binary, probe.searchPath))
      return { version, voices: PICO2WAVE_VOICES }
    },
    argv({ outPath, voice }) {
      return ['-w', outPath, ...(voice === '' ? [] : ['-l', voice])]
    },
    nativeRate: () => PICO2WAVE_RATE_HZ,
  }
}

/** SVOX Pico in the engine registry (adapters/index.ts). */
export const pico2waveEngine = {
  id: 'pico2wave',
  defaultBinary: 'pico2wave',
  create: (own) => createPico2waveEngine(own),
} as const satisfies EngineDefinition
