import type { EngineAdapter, EngineBinaryOptions, EngineDefinition, EngineDetection, ProbeOptions } from './engine-adapter.js'
import { probeStdout, requireExecutable, requireVersion } from './engine-probe.js'

/**
 * CMU Flite. Render argv: `[-voice <voice>] -f - -o <out>` (flite wants its options before the
 * input and output ones). `-f` names the text file explicitly and flite opens `-` as stdin, so
 * the text never comes from argv (a positional TEXT with a space would be spoken from argv).
 * Not `-f /dev/stdin`: Node gives children a socket, not a pipe, as stdin, and opening
 * /dev/stdin on a socket fails (flite then exits 0 with no audio).
 * No `-ssml`: markup is spoken. Version from `flite --version` (`version: flite-2.2-current`);
 * voices from `flite -lv` (`Voices available: kal awb_time kal16 awb rms slt`). An unknown
 * voice is rejected up front, since flite itself silently falls back to its default.
 * `-voice` also takes a path or URL, which validated voice names (no `/` or `:`) cannot be.
 */
export function createFliteEngine(options: EngineBinaryOptions = {}): EngineAdapter {
  const id = fliteEngine.id
  const binary = options.path ?? fliteEngine.defaultBinary
  return {
    id,
    binary,
    textInput: 'stdin',
    env: options.env,
    async detect(probe: ProbeOptions): Promise<EngineDetection> {
      const [version, voiceList] = await Promise.all([
        options.version === undefined
          ? // `flite --version` prints its version and exits 1.
            probeStdout(id, binary, ['--version'], probe, options.env, [0, 1]).then((out) => requireVersion(id, parseFliteVersion(out)))
          : requireExecutable(id, binary, probe.searchPath).then(() => options.version ?? ''),
        probeStdout(id, binary, ['-lv'], probe, options.env),
      ])
      return { version, voices: parseFliteVoices(voiceList) }
    },
    argv({ outPath, voice }) {
      return [...(voice === '' ? [] : ['-voice', voice]), '-f', '-', '-o', outPath]
    },
  }
}

/** `version: flite-2.2-current Sep 2018 (…)` → `flite-2.2-current`; '' when absent (the exit code proves nothing). */
export function parseFliteVersion(stdout: string): string {
  return /version:\s*(\S+)/.exec(stdout)?.[1] ?? ''
}

export function parseFliteVoices(stdout: string): ReadonlySet<string> {
  const match = /Voices available:(.*)/.exec(stdout)
  const names = (match?.[1] ?? '').trim().split(/\s+/)
  return new Set(names.filter((name) => name !== ''))
}

/** Flite in the engine registry (adapters/index.ts). */
export const fliteEngine = {
  id: 'flite',
  defaultBinary: 'flite',
  create: (own) => createFliteEngine(own),
} as const satisfies EngineDefinition
