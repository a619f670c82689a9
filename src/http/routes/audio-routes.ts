import type { FastifyInstance } from 'fastify'
import { TtsError } from '../../core/errors.js'
import { sendAudioFile, sendHotHit } from '../audio-response.js'
import { httpError } from '../http-errors.js'
import type { RouteDeps } from '../route-deps.js'
import { errorResponses, notModifiedResponse, partialWavResponse, wavResponse } from '../schemas.js'

const AUDIO_FILE = /^([0-9a-f]{64})\.wav$/

/**
 * GET|HEAD /v1/audio/<key>.wav: a stable, cacheable URL per WAV for mod_http_cache.
 * Never renders (the key alone cannot say what to render): 404 when absent.
 */
export async function audioRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { store } = app.tts
  const closing = deps.isClosing

  app.route<{ Params: { file: string } }>({
    method: ['GET', 'HEAD'],
    url: '/v1/audio/:file',
    schema: {
      summary: 'A cached WAV by key',
      description:
        'The URL handed out as `url` by POST /v1/tts, for `playback http_cache://http://host:8080/v1/audio/<key>.wav`. ' +
        'Supports HEAD, If-None-Match (304) and one Range (206); 404 when the key is not cached.',
      tags: ['audio'],
      params: {
        type: 'object',
        properties: { file: { type: 'string', description: '<key>.wav — the key is 64 lowercase hex characters' } },
        required: ['file'],
      },
      response: {
        200: wavResponse,
        206: partialWavResponse,
        304: notModifiedResponse,
        ...errorResponses(400, 401, 404, 416, 500, 503),
      },
    },
    handler: async (request, reply) => {
      const key = AUDIO_FILE.exec(request.params.file)?.[1]
      if (key === undefined) throw new TtsError('TTS_ERR_INVALID_KEY', { args: [request.params.file.slice(0, 80)] })
      const notFound = (): TtsError => httpError('TTS_ERR_NOT_FOUND', `audio ${key}.wav not found`)
      // The key is the URL's (no hashing). A hit only while the file is on disk as indexed (the
      // lookup stats it); not indexed, a valid file another process on the same cache directory
      // rendered is found and indexed. A deleted or truncated file is a 404.
      const options = { conditional: true, cacheStatus: 'hit', hot: app.hotAudio, closing } as const
      const indexed = store.lookup(key)
      // Indexed with its bytes in memory: answered at once, no promise chain.
      if (indexed !== undefined && sendHotHit(request, reply, indexed, options)) return reply
      const entry = indexed ?? (await store.find(key))
      if (entry === undefined) throw notFound()
      const sent = await sendAudioFile(request, reply, { key, path: entry.path, entry }, options)
      if (!sent) throw notFound()
      return reply
    },
  })
}
