/**
 * RIFF/WAVE header parsing: enough to tell a complete PCM WAV from a partial or garbage file,
 * and to read its format and duration. Pure (works on bytes); callers read the bytes.
 */

export interface WavInfo {
  /** 1 = PCM, 0xFFFE = WAVE_FORMAT_EXTENSIBLE (engines such as pico2wave may emit it). */
  readonly audioFormat: number
  readonly channels: number
  readonly sampleRate: number
  readonly bitsPerSample: number
  /** Byte offset of the first sample. */
  readonly dataOffset: number
  /** Bytes of sample data the header announces. */
  readonly dataBytes: number
  readonly durationMs: number
}

/** Bytes that always hold a canonical header (and usually any header an engine writes). */
export const WAV_HEADER_PROBE_BYTES = 4096

export type WavCheck = { readonly ok: true; readonly info: WavInfo } | { readonly ok: false; readonly reason: string }

/**
 * Parses the header from the first bytes of a file whose total size is `fileBytes`.
 * Rejects a missing RIFF/WAVE tag, a missing fmt or data chunk, and a data chunk that
 * claims more bytes than the file holds (a truncated file). A header of 0xFFFFFFFF or 0 data
 * bytes (streamed output) is resolved against the file size.
 */
export function parseWavHeader(head: Uint8Array, fileBytes: number): WavCheck {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength)
  if (head.byteLength < 12) return { ok: false, reason: 'shorter than a RIFF header' }
  if (ascii(head, 0, 4) !== 'RIFF' || ascii(head, 8, 4) !== 'WAVE') return { ok: false, reason: 'not a RIFF/WAVE file' }
  let offset = 12
  let fmt: { audioFormat: number; channels: number; sampleRate: number; bitsPerSample: number } | undefined
  while (offset + 8 <= head.byteLength) {
    const id = ascii(head, offset, 4)
    const size = view.getUint32(offset + 4, true)
    const body = offset + 8
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > head.byteLength) return { ok: false, reason: 'fmt chunk truncated' }
      fmt = {
        audioFormat: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bitsPerSample: view.getUint16(body + 14, true),
      }
    } else if (id === 'data') {
      if (fmt === undefined) return { ok: false, reason: 'data chunk before fmt chunk' }
      const available = fileBytes - body
      if (available < 0) return { ok: false, reason: 'data chunk truncated' }
      const dataBytes = size === 0xffffffff || size === 0 ? available : size
      if (dataBytes > available) return { ok: false, reason: `data chunk claims ${dataBytes} bytes, file has ${available}` }
      if (fmt.channels === 0 || fmt.sampleRate === 0 || fmt.bitsPerSample === 0) return { ok: false, reason: 'zero channels, rate or sample size' }
      const bytesPerSecond = fmt.sampleRate * fmt.channels * (fmt.bitsPerSample / 8)
      const durationMs = Math.round((dataBytes / bytesPerSecond) * 1000)
      return { ok: true, info: { ...fmt, dataOffset: body, dataBytes, durationMs } }
    }
    // Chunks are word-aligned: an odd size is followed by one pad byte.
    offset = body + size + (size % 2)
  }
  return { ok: false, reason: 'no data chunk in the header' }
}

/** True when the file is what every cached file must be: PCM16 mono at `sampleRate`, with audio in it. */
export function isCanonicalWav(info: WavInfo, sampleRate: number): boolean {
  return (
    (info.audioFormat === 1 || info.audioFormat === 0xfffe) &&
    info.channels === 1 &&
    info.bitsPerSample === 16 &&
    info.sampleRate === sampleRate &&
    info.dataBytes >= 2 &&
    info.durationMs > 0
  )
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  let s = ''
  for (let i = start; i < start + length; i++) s += String.fromCharCode(bytes[i] ?? 0)
  return s
}
