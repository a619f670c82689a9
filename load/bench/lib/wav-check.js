// @ts-check
/**
 * The "reader": what FreeSWITCH's playback does with a returned path, done at once —
 * open it, read the header, compare the data size the header announces with the file size.
 * A file still being written (0 bytes, a header with a placeholder size, a truncated data
 * chunk) is invalid. Uses the service's own WAV parser so both sides are judged alike.
 */
import { open } from 'node:fs/promises'
import { parseWavHeader, WAV_HEADER_PROBE_BYTES } from '../../../dist/index.js'

/**
 * @param {string} path
 * @returns {Promise<{ ok: true, durationMs: number } | { ok: false, reason: string }>}
 */
export async function checkWavAt(path) {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    return { ok: false, reason: `cannot open: ${/** @type {NodeJS.ErrnoException} */ (err).code ?? String(err)}` }
  }
  try {
    const { size } = await handle.stat()
    const head = Buffer.alloc(Math.min(WAV_HEADER_PROBE_BYTES, size))
    if (head.length > 0) await handle.read(head, 0, head.length, 0)
    const check = /** @type {{ ok: true, info: { durationMs: number } } | { ok: false, reason: string }} */ (parseWavHeader(head, size))
    if (!check.ok) return { ok: false, reason: check.reason }
    // espeak-ng writes a placeholder size (0x7ffff000) first and patches it at close, so a
    // file still being written announces more data than it holds: parseWavHeader rejects it.
    return { ok: true, durationMs: check.info.durationMs }
  } finally {
    await handle.close()
  }
}
