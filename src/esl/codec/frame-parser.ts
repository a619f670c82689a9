import { TtsError } from '../../core/errors.js'
import { EslFrame } from './frame.js'
import { scanHeaderBlock, valueAt } from './header-block.js'

export interface FrameLimits {
  /** Largest header block (bytes, up to the blank line) we buffer. */
  readonly maxHeaderBytes: number
  /** Largest Content-Length we accept. */
  readonly maxBodyBytes: number
}

export interface ParsedChunk {
  readonly frames: readonly EslFrame[]
  /** Set once the stream is unusable (oversize, bad Content-Length, malformed header line). */
  readonly error: TtsError | undefined
}

const LF = 0x0a
const BLANK_LINE = Buffer.from('\n\n')
const BLANK_LINE_CR = Buffer.from('\n\r\n')
const CONTENT_LENGTH = /^\d{1,10}$/

/**
 * Incremental ESL frame parser: bytes in, frames out. Works on bytes throughout, so a
 * multibyte UTF-8 body split across TCP reads is cut at exactly Content-Length bytes.
 *
 * It never throws (modesl's parser throws URIError from inside the socket's data handler on
 * a bare `%`, which crashes the process): problems come back as `error`, after which the
 * parser refuses further input and the owner closes the connection. It does not URL-decode.
 * Blank lines between frames are skipped, as FreeSWITCH's own reader does.
 */
export class EslFrameParser {
  readonly #limits: FrameLimits
  #buffer: Buffer = Buffer.alloc(0)
  /** Where the search for the end of the header block resumes. */
  #scanFrom = 0
  #pending: { head: EslFrame; length: number } | undefined
  #error: TtsError | undefined

  constructor(limits: FrameLimits) {
    this.#limits = limits
  }

  get error(): TtsError | undefined {
    return this.#error
  }

  /** Bytes held while waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.#buffer.length
  }

  push(chunk: Uint8Array): ParsedChunk {
    if (this.#error !== undefined) return { frames: [], error: this.#error }
    const frames: EslFrame[] = []
    try {
      // Socket chunks are fresh Buffers nobody else writes to: keep them without copying.
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)
      this.#buffer = this.#buffer.length === 0 ? bytes : Buffer.concat([this.#buffer, bytes])
      this.#drain(frames)
    } catch (err) {
      // Defensive: any bug here must close one connection, never crash the process.
      this.#fail(new TtsError('TTS_ERR_ESL_PROTOCOL', { cause: err, args: ['parser failure'] }))
    }
    return { frames, error: this.#error }
  }

  #drain(frames: EslFrame[]): void {
    for (;;) {
      if (this.#pending !== undefined) {
        const { head, length } = this.#pending
        if (this.#buffer.length < length) return
        const body = Buffer.from(this.#buffer.subarray(0, length))
        this.#consume(length)
        this.#pending = undefined
        frames.push(head.withBody(body))
        continue
      }
      let start = 0
      while (start < this.#buffer.length && (this.#buffer[start] === LF || this.#buffer[start] === 0x0d)) start++
      if (start > 0) this.#consume(start)
      if (this.#buffer.length === 0) return
      const limit = this.#findBlankLine()
      if (limit < 0) {
        if (this.#buffer.length > this.#limits.maxHeaderBytes) {
          this.#fail(new TtsError('TTS_ERR_ESL_PROTOCOL', { args: [`header block over ${this.#limits.maxHeaderBytes} bytes`] }))
        }
        return
      }
      // No copy: a socket chunk is a fresh Buffer nobody writes to, sized to what was read, so a
      // frame that outlives this read (CHANNEL_DATA lives as long as the call) pins only that.
      const block = scanHeaderBlock(this.#buffer, limit)
      if (block instanceof TtsError) {
        this.#fail(block)
        return
      }
      if (block.end > this.#limits.maxHeaderBytes) {
        this.#fail(new TtsError('TTS_ERR_ESL_PROTOCOL', { args: [`header block over ${this.#limits.maxHeaderBytes} bytes`] }))
        return
      }
      this.#consume(block.end + 2)
      const head = new EslFrame(block)
      if (block.contentLengthAt < 0) {
        frames.push(head)
        continue
      }
      const lengthHeader = valueAt(block, block.contentLengthAt)
      const raw = lengthHeader.trim()
      const length = CONTENT_LENGTH.test(raw) ? Number(raw) : Number.NaN
      if (!Number.isSafeInteger(length) || length > this.#limits.maxBodyBytes) {
        this.#fail(new TtsError('TTS_ERR_ESL_PROTOCOL', { args: [`bad Content-Length ${JSON.stringify(raw.slice(0, 20))}`] }))
        return
      }
      this.#pending = { head, length }
    }
  }

  /**
   * Where the header block ends at the latest: the first LF of the first "\n\n" (native search),
   * or of a "\n\r\n" when there is no "\n\n" yet; -1 when neither has arrived. A "\n\r\n"
   * before the "\n\n" is found by scanHeaderBlock (a line holding only CR), so the common case
   * costs one native search.
   */
  #findBlankLine(): number {
    const buf = this.#buffer
    const from = Math.max(0, this.#scanFrom)
    let found = buf.indexOf(BLANK_LINE, from)
    if (found < 0) found = buf.indexOf(BLANK_LINE_CR, from)
    if (found >= 0) {
      this.#scanFrom = 0
      return found
    }
    // Resume two bytes back next time: the LF (and CR) we stopped on may pair with the next chunk.
    this.#scanFrom = Math.max(0, buf.length - 2)
    return -1
  }

  #consume(bytes: number): void {
    this.#buffer = this.#buffer.subarray(bytes)
    this.#scanFrom = 0
  }

  #fail(error: TtsError): void {
    this.#error = error
    this.#buffer = Buffer.alloc(0)
    this.#pending = undefined
  }
}

export { parseHeaderBlock } from './header-block.js'
