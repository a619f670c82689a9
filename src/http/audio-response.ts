import { open, type FileHandle } from 'node:fs/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { TtsError } from '../core/errors.js'
import type { CacheEntry } from '../core/ports/index.js'
import type { ResultStatus } from '../core/tts-service.js'
import { decideRange, etagFor, ifNoneMatchMatches, ifRangeAllowsRange } from './conditional-request.js'
import { IMMUTABLE_CACHE_CONTROL, WAV_CONTENT_TYPE, writeWholeHotFile, type HotAudio, type HotFile } from './hot-audio.js'

export { IMMUTABLE_CACHE_CONTROL, WAV_CONTENT_TYPE }

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
  /** True once the server is closing: the whole-file fast path then steps aside (see sendWholeHotFile). */
  readonly closing?: (() => boolean) | undefined
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
 * The whole of a file held in memory, answered at once: 200 (no body for HEAD) with the
 * headers the reply already carries (X-Request-Id) and the file's precomputed ones, written
 * with one `writeHead` of a raw header list and one `end` of the bytes (Node writes headers and
 * body in one writev, copying nothing in user space). Fastify's onSend hooks and serializers are
 * skipped (the reply is hijacked); onResponse hooks run as for any response.
 * False, having sent nothing, when the request asks for a Range (the general path decides it)
 * or the server is closing (the general path's onSend adds `Connection: close`).
 */
export function sendWholeHotFile(request: FastifyRequest, reply: FastifyReply, file: HotFile, options: SendAudioOptions): boolean {
  if (request.headers.range !== undefined || options.closing?.() === true) return false
  const raw: string[] = []
  const pending = reply.getHeaders()
  for (const name in pending) {
    const value = pending[name]
    if (Array.isArray(value)) for (const item of value) raw.push(name, item)
    else if (value !== undefined) raw.push(name, String(value))
  }
  reply.hijack()
  writeWholeHotFile(reply.raw, request.method, raw, file, options.cacheStatus)
  return true
}

/**
 * A hit answered synchronously when its bytes are in memory and current: 304 on a matching
 * If-None-Match, else the whole file (sendWholeHotFile). False, having sent nothing, when
 * the bytes are not in memory, or the request needs the general path (a Range, a closing server).
 */
export function sendHotHit(request: FastifyRequest, reply: FastifyReply, entry: CacheEntry, options: SendAudioOptions): boolean {
  const file = options.hot?.get(entry)
  if (file === undefined) return false
  if (options.conditional && ifNoneMatchMatches(request.headers['if-none-match'], entry.key)) {
    sendNotModified(reply, entry.key)
    return true
  }
  return sendWholeHotFile(request, reply, file, options)
}

/**
 * Sends a cached WAV: 304 on a matching If-None-Match, 206 for one satisfiable Range, 416 for
 * an unsatisfiable one, headers only for HEAD. A small, hot file comes from memory (`hot`,
 * checked against the index entry; callers waiting for the same new entry share one read);
 * otherwise the only file-system work is one async open and one fstat on the handle (so
 * Content-Length is that of the file actually sent, even if a refresh replaced it since the
 * lookup), and the handle closes with the stream.
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
  let source: AudioSource | undefined
  const hot = await hotSource(audio, options.hot)
  if (hot === 'changed') return false
  if (hot !== undefined) {
    if (sendWholeHotFile(request, reply, hot, options)) return true
    const bytes = hot.bytes
    source = { size: bytes.length, body: (start, end) => bytes.subarray(start, end + 1), close: NOTHING_TO_CLOSE }
  } else {
    source = await openFile(audio)
    if (source === undefined) return false
  }
  return sendSource(request, reply, audio.key, source, options.cacheStatus)
}

/** Range, HEAD and the body of a source through Fastify's send. */
async function sendSource(request: FastifyRequest, reply: FastifyReply, key: string, source: AudioSource, cacheStatus: ResultStatus | undefined): Promise<boolean> {
  const size = source.size
  setAudioHeaders(reply, key, cacheStatus)
  const ifRange = request.headers['if-range']
  const rangeHeader = ifRangeAllowsRange(typeof ifRange === 'string' ? ifRange : undefined, key) ? request.headers.range : undefined
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
 * The entry's bytes from memory, read into memory when small enough (one shared read however many
 * callers ask at once); undefined when they are to be streamed; 'changed' when gone or read at
 * another size than the index entry says (changed since the lookup's stat).
 */
export async function hotSource(audio: AudioToSend, hot: HotAudio | undefined): Promise<HotFile | 'changed' | undefined> {
  if (hot === undefined || audio.entry === undefined) return undefined
  let file: HotFile | undefined
  try {
    file = hot.get(audio.entry) ?? (await hot.load(audio.entry))
  } catch (err) {
    return storeError(err, 'read failed') ?? 'changed'
  }
  if (file !== undefined && file.bytes.length !== audio.entry.bytes) return 'changed'
  return file
}

/** An open file handle of the right size; undefined when gone or not the size the index entry says. */
async function openFile(audio: AudioToSend): Promise<AudioSource | undefined> {
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
