import { open, type FileHandle } from 'node:fs/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { TtsError } from '../core/errors.js'
import type { CacheEntry } from '../core/ports/index.js'
import type { ResultStatus } from '../core/tts-service.js'
import { decideRange, etagFor, ifNoneMatchMatches, ifRangeAllowsRange } from './conditional-request.js'
import type { HotAudio } from './hot-audio.js'

/** Cached audio never changes under its key: let every cache keep it for a year. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'
export const WAV_CONTENT_TYPE = 'audio/wav'

export interface AudioToSend {
  readonly key: string
  readonly path: string
  /** The store's index entry, when known: lets a hit be served from memory (HotAudio). */
  readonly entry?: CacheEntry | undefined
}

export interface SendAudioOptions {
  /** Sent as X-TTS-Cache (hit | rendered | coalesced). */
  readonly cacheStatus?: ResultStatus | undefined
  /** Honour If-None-Match (false for a forced refresh: the client asked for the new bytes). */
  readonly conditional: boolean
  /** In-memory copies of hot files (used when `entry` is given). */
  readonly hot?: HotAudio | undefined
}

/** The bytes to send, from memory or from an open file handle. */
interface AudioSource {
  readonly size: number
  body(start: number, end: number): Buffer | NodeJS.ReadableStream
  close(): Promise<void>
}


/** Sets the headers every successful audio response carries (200, 206, 304, HEAD). */
export function setAudioHeaders(reply: FastifyReply, key: string, cacheStatus: ResultStatus | undefined): void {
  reply.header('etag', etagFor(key))
  reply.header('cache-control', IMMUTABLE_CACHE_CONTROL)
  reply.header('accept-ranges', 'bytes')
  if (cacheStatus !== undefined) reply.header('x-tts-cache', cacheStatus)
}

/** 304 Not Modified: the client's copy (named by its tag) is the current audio. */
export function sendNotModified(reply: FastifyReply, key: string): FastifyReply {
  setAudioHeaders(reply, key, undefined)
  return reply.code(304).send()
}

/**
 * Sends a cached WAV: 304 on a matching If-None-Match, 206 for one satisfiable Range, 416 for
 * an unsatisfiable one, headers only for HEAD. A small, hot file comes from memory (`hot`,
 * checked against the index entry); otherwise the only file-system work is one async open and
 * one fstat on the handle (so Content-Length is that of the file actually sent, even if a
 * refresh replaced it since the lookup), and the handle closes with the stream.
 * Resolves false, having sent nothing, when the file is gone (purged or evicted since the lookup),
 * or is not the size the index entry says (changed behind the store since the lookup).
 */
export async function sendAudioFile(
  request: FastifyRequest,
  reply: FastifyReply,
  audio: AudioToSend,
  options: SendAudioOptions,
): Promise<boolean> {
  if (options.conditional && ifNoneMatchMatches(request.headers['if-none-match'], audio.key)) {
    sendNotModified(reply, audio.key)
    return true
  }
  const source = await openSource(audio, options.hot)
  if (source === undefined) return false
  const size = source.size
  setAudioHeaders(reply, audio.key, options.cacheStatus)
  const ifRange = request.headers['if-range']
  const rangeHeader = ifRangeAllowsRange(typeof ifRange === 'string' ? ifRange : undefined, audio.key) ? request.headers.range : undefined
  const decision = decideRange(rangeHeader, size)
  if (decision.kind === 'unsatisfiable') {
    await source.close()
    reply.header('content-range', `bytes */${size}`)
    throw new TtsError('TTS_ERR_RANGE_NOT_SATISFIABLE', { args: [String(rangeHeader).slice(0, 60)] })
  }
  let start = 0
  let end = size - 1
  if (decision.kind === 'partial') {
    start = decision.range.start
    end = decision.range.end
    reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`)
  }
  reply.header('content-type', WAV_CONTENT_TYPE).header('content-length', String(end - start + 1))
  if (request.method === 'HEAD' || size === 0) {
    await source.close()
    reply.send()
    return true
  }
  reply.send(source.body(start, end))
  return true
}

const NOTHING_TO_CLOSE = async (): Promise<void> => undefined

/**
 * Memory when hot (or small enough to become hot), else an open file handle; undefined when gone,
 * or when the file read is not the size the index entry says (changed since the lookup's stat).
 */
async function openSource(audio: AudioToSend, hot: HotAudio | undefined): Promise<AudioSource | undefined> {
  if (hot !== undefined && audio.entry !== undefined) {
    let bytes: Buffer | undefined
    try {
      bytes = hot.get(audio.entry) ?? (await hot.load(audio.entry))
    } catch (err) {
      return storeError(err, 'read failed')
    }
    if (bytes !== undefined && bytes.length !== audio.entry.bytes) return undefined
    if (bytes !== undefined) {
      const inMemory = bytes
      return { size: inMemory.length, body: (start, end) => inMemory.subarray(start, end + 1), close: NOTHING_TO_CLOSE }
    }
  }
  let handle: FileHandle
  try {
    handle = await open(audio.path, 'r')
  } catch (err) {
    return storeError(err, 'open failed')
  }
  let size: number
  try {
    size = (await handle.stat()).size
  } catch (err) {
    await handle.close()
    throw new TtsError('TTS_ERR_STORE_IO', { cause: err, args: ['fstat failed'] })
  }
  if (audio.entry !== undefined && size !== audio.entry.bytes) {
    // Truncated or rewritten since the lookup: never sent (the caller asks again).
    await handle.close()
    return undefined
  }
  return { size, body: (start, end) => handle.createReadStream({ start, end, autoClose: true }), close: () => handle.close() }
}

/** ENOENT means "gone" (undefined); anything else is a store error. */
function storeError(err: unknown, what: string): undefined {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
  throw new TtsError('TTS_ERR_STORE_IO', { cause: err, args: [(err as NodeJS.ErrnoException).code ?? what] })
}
