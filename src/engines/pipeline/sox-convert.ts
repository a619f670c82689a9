import type { Logger } from '../../core/ports/index.js'
import { runEngineProcess } from '../process/run-engine-process.js'

export interface SoxConvertOptions {
  readonly soxPath: string
  readonly timeoutMs: number
  readonly killGraceMs: number
  readonly signal?: AbortSignal | undefined
  readonly logger?: Logger | undefined
}

/**
 * Converts any WAV sox can read to the canonical format: PCM16 signed, mono, `sampleRate` Hz.
 * argv: `soxConvertArgv`. Errors are typed as for engines, labelled `sox`.
 */
export async function convertToCanonicalWav(
  inPath: string,
  outPath: string,
  sampleRate: number,
  options: SoxConvertOptions,
): Promise<void> {
  await runEngineProcess(options.soxPath, soxConvertArgv(inPath, outPath, sampleRate), {
    label: 'sox',
    timeoutMs: options.timeoutMs,
    killGraceMs: options.killGraceMs,
    signal: options.signal,
    logger: options.logger,
  })
}

/**
 * `-t wav <in> -t wav -r <rate> -c 1 -b 16 -e signed-integer <out>`: types explicit, so neither
 * path's extension matters. `inPath` is absolute, or `-` for stdin (a WAV streamed by the
 * engine, whose header may carry placeholder sizes: sox then reads to the end of its input);
 * `outPath` is absolute. So neither can look like an option.
 */
export function soxConvertArgv(inPath: string, outPath: string, sampleRate: number): string[] {
  return ['-t', 'wav', inPath, '-t', 'wav', '-r', String(sampleRate), '-c', '1', '-b', '16', '-e', 'signed-integer', outPath]
}
