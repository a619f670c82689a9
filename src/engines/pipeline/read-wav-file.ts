import { open } from 'node:fs/promises'
import { WAV_HEADER_PROBE_BYTES, parseWavHeader, type WavCheck } from '../../audio/wav.js'

export interface WavFileCheck {
  readonly check: WavCheck
  /** Size of the file (0 when it does not exist). */
  readonly bytes: number
}

/** Reads and parses the header of the WAV at `path`. A missing file is a failed check, not a throw. */
export async function readWavFile(path: string): Promise<WavFileCheck> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { check: { ok: false, reason: 'no output file' }, bytes: 0 }
    throw err
  }
  try {
    const { size } = await handle.stat()
    if (size === 0) return { check: { ok: false, reason: 'empty output file' }, bytes: 0 }
    const head = Buffer.alloc(Math.min(size, WAV_HEADER_PROBE_BYTES))
    const { bytesRead } = await handle.read(head, 0, head.length, 0)
    return { check: parseWavHeader(head.subarray(0, bytesRead), size), bytes: size }
  } finally {
    await handle.close()
  }
}
