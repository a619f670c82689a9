import { TtsError } from '../core/errors.js'
import { EslFrame, type EslHeader } from './frame.js'

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
  #pending: { headers: readonly EslHeader[]; length: number } | undefined
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
        const { headers, length } = this.#pending
        if (this.#buffer.length < length) return
        const body = Buffer.from(this.#buffer.subarray(0, length))
        this.#consume(length)
        this.#pending = undefined
        frames.push(new EslFrame(headers, body))
        continue
      }
      let start = 0
      while (start < this.#buffer.length && (this.#buffer[start] === LF || this.#buffer[start] === 0x0d)) start++
      if (start > 0) this.#consume(start)
      if (this.#buffer.length === 0) return
      const end = this.#findBlankLine()
      if (end < 0) {
        if (this.#buffer.length > this.#limits.maxHeaderBytes) {
          this.#fail(new TtsError('TTS_ERR_ESL_PROTOCOL', { args: [`header block over ${this.#limits.maxHeaderBytes} bytes`] }))
        }
        return
      }
      if (end > this.#limits.maxHeaderBytes) {
        this.#fail(new TtsError('TTS_ERR_ESL_PROTOCOL', { args: [`header block over ${this.#limits.maxHeaderBytes} bytes`] }))
        return
      }
      const headers = parseHeaderBlock(this.#buffer.toString('utf8', 0, end))
      if (headers instanceof TtsError) {
        this.#fail(headers)
        return
      }
      this.#consume(end + 2)
      const lengthHeader = headers.find(([name]) => name.toLowerCase() === 'content-length')
      if (lengthHeader === undefined) {
        frames.push(new EslFrame(headers))
        continue
      }
      const raw = lengthHeader[1].trim()
      const length = CONTENT_LENGTH.test(raw) ? Number(raw) : Number.NaN
      if (!Number.isSafeInteger(length) || length > this.#limits.maxBodyBytes) {
        this.#fail(new TtsError('TTS_ERR_ESL_PROTOCOL', { args: [`bad Content-Length ${JSON.stringify(raw.slice(0, 20))}`] }))
        return
      }
      this.#pending = { headers, length }
    }
  }

  /** Index of the first LF of the first "\n\n" (CR before an LF is tolerated), or -1. */
  #findBlankLine(): number {
    const buf = this.#buffer
    let i = Math.max(0, this.#scanFrom)
    for (; i < buf.length; i++) {
      if (buf[i] !== LF) continue
      let j = i + 1
      if (buf[j] === 0x0d) j++
      if (j < buf.length && buf[j] === LF) {
        this.#scanFrom = 0
        return i
      }
    }
    // Resume one byte back next time: the LF we stopped on may pair with the next chunk.
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

/**
 * Parses `Name: value` lines. The value is everything after the first `:` and one optional
 * space (FreeSWITCH writes exactly ": "); a trailing CR is dropped. A non-empty line with no
 * `:` or an empty name is an error.
 */
export function parseHeaderBlock(text: string): EslHeader[] | TtsError {
  const headers: EslHeader[] = []
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine
    if (line === '') continue
    const colon = line.indexOf(':')
    if (colon < 1) {
      return new TtsError('TTS_ERR_ESL_PROTOCOL', { args: [`malformed header line ${JSON.stringify(line.slice(0, 40))}`] })
    }
    const name = line.slice(0, colon)
    const value = line.charCodeAt(colon + 1) === 0x20 ? line.slice(colon + 2) : line.slice(colon + 1)
    headers.push([name, value])
  }
  return headers
}
