/** What both shared tiers do with WAV bytes: check them before use, write them into a render slot. */
import { writeFile } from 'node:fs/promises'
import { isCanonicalWav, parseWavHeader, WAV_HEADER_PROBE_BYTES } from '../../audio/wav.js'
import type { RenderedAudio, SharedWav } from '../../core/ports/index.js'

/** Why fetched audio was not usable: it is then treated as absent (and rendered again). */
export type SharedWavCheck = { readonly ok: true; readonly audio: SharedWav } | { readonly ok: false; readonly reason: string }

/** A published entry is used only if it is a complete canonical WAV at the requested rate. */
export function checkSharedWav(audio: SharedWav, sampleRate: number): SharedWavCheck {
  const parsed = parseWavHeader(audio.wav.subarray(0, WAV_HEADER_PROBE_BYTES), audio.wav.byteLength)
  if (!parsed.ok) return { ok: false, reason: parsed.reason }
  if (!isCanonicalWav(parsed.info, sampleRate)) return { ok: false, reason: `not PCM16 mono at ${sampleRate} Hz` }
  return { ok: true, audio: { wav: audio.wav, durationMs: parsed.info.durationMs } }
}

/**
 * Writes the bytes to the render slot's temp path. The slot validates, fsyncs and renames it
 * into place afterwards, so this plain write is enough: nobody reads the temp path meanwhile.
 */
export async function writeSharedWav(outPath: string, audio: SharedWav): Promise<RenderedAudio> {
  await writeFile(outPath, audio.wav, { flag: 'w' })
  return { bytes: audio.wav.byteLength, durationMs: audio.durationMs }
}
