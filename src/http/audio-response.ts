import { open, type FileHandle } from 'node:fs/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { TtsError } from '../core/errors.js'
import type { ResultStatus } from '../core/tts-service.js'
import { decideRange, etagFor, ifNoneMatchMatches, ifRangeAllowsRange } from './conditional-request.js'

/** Cached audio never changes under its key: let every cache keep it for a year. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'
export const WAV_CONTENT_TYPE = 'audio/wav'

export interface AudioToSend {
  readonly key: string
  readonly path: string
}

export interface SendAudioOptions {
  /** Sent as X-TTS-Cache (hit | rendered | coalesced). */
  readonly cacheStatus?: ResultStatus | undefined
  /** Honour If-None-Match (false for a forced refresh: the client asked for the new bytes). */
  readonly conditional: boolean
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
 * Streams a cached WAV: 304 on a matching If-None-Match, 206 for one satisfiable Range,
 * 416 for an unsatisfiable one, headers only for HEAD. The only file-system work is one
 * async open and one fstat on the handle (so Content-Length is that of the file actually
 * sent, even if a refresh replaced it since the lookup); the handle closes with the stream.
 * Resolves false, having sent nothing, when the file is gone (purged or evicted since the lookup).
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
  let handle: FileHandle
  try {
    handle = await open(audio.path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new TtsError('TTS_ERR_STORE_IO', { cause: err, args: [(err as NodeJS.ErrnoException).code ?? 'open failed'] })
  }
  let size: number
  try {
    size = (await handle.stat()).size
  } catch (err) {
    await handle.close()
    throw new TtsError('TTS_ERR_STORE_IO', { cause: err, args: ['fstat failed'] })
  }
  setAudioHeaders(reply, audio.key, options.cacheStatus)
  const ifRange = request.headers['if-range']
  const rangeHeader = ifRangeAllowsRange(typeof ifRange === 'string' ? ifRange : undefined, audio.key) ? request.headers.range : undefined
  const decision = decideRange(rangeHeader, size)
  if (decision.kind === 'unsatisfiable') {
    await handle.close()
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
    await handle.close()
    reply.send()
    return true
  }
  reply.send(handle.createReadStream({ start, end, autoClose: true }))
  return true
}
