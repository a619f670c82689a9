import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { TtsError } from '../../core/errors.js'
import type { PhraseInput } from '../../core/phrase.js'
import type { ResolvedPhrase, TtsResult } from '../../core/tts-service.js'
import { sendAccelRedirect } from '../accel-redirect.js'
import { sendAudioFile, sendHotHit, sendNotModified } from '../audio-response.js'
import { ifNoneMatchMatches } from '../conditional-request.js'
import { fromService } from '../http-errors.js'
import { takeWaited } from '../render-waiters.js'
import { requestWaitSignal } from '../request-signal.js'
import { rawQueryOf, ResolvedPhrases } from '../resolved-phrases.js'
import { audioUrl, requireToken, type RouteDeps } from '../route-deps.js'
import {
  errorResponses,
  notModifiedResponse,
  partialWavResponse,
  phraseBodySchema,
  phraseQuerySchema,
  renderResultSchema,
  wavResponse,
  type PhraseBody,
  type PhraseQuery,
} from '../schemas.js'

const refreshQuerySchema = {
  type: 'object',
  properties: { refresh: phraseQuerySchema.properties.refresh },
} as const

/** What the /v1/tts routes share: the service, the deadline, the resolved-phrase memo, the closing flag. */
interface TtsRouteState {
  readonly service: FastifyInstance['tts']['service']
  readonly deadlineMs: number
  readonly phrases: ResolvedPhrases
  readonly closing: () => boolean
}

/** GET|HEAD /v1/tts (the WAV) and POST /v1/tts (where the WAV is). */
export async function ttsRoutes(app: FastifyInstance, deps: RouteDeps & { readonly phrases?: ResolvedPhrases }): Promise<void> {
  const { service } = app.tts
  // The memo is the server's when given: its hit fast path reads the same one (hit-listener.ts).
  const state: TtsRouteState = { service, deadlineMs: app.tts.config.httpDeadlineMs, phrases: deps.phrases ?? new ResolvedPhrases(service), closing: deps.isClosing }
  wavRoute(app, deps, state)
  placeRoute(app, deps, state)
}

/**
 * service.get (or the hit already found: `first`), once more when the file changed between the
 * lookup's stat and the open (the second lookup sees it and drops the entry: a render, or the
 * new file). Never deletes files: on a shared directory the file there may be a peer's fresh render.
 */
async function getAudio(
  { service, deadlineMs }: TtsRouteState,
  request: FastifyRequest,
  reply: FastifyReply,
  input: PhraseInput | ResolvedPhrase,
  refresh: boolean,
  send: (result: TtsResult) => Promise<boolean>,
  first?: TtsResult,
): Promise<FastifyReply> {
  // One deadline for the whole wait, the repair of a vanished file included.
  const signal = requestWaitSignal(reply.raw, deadlineMs)
  const get = (options: { refresh?: boolean }): Promise<TtsResult> =>
    'key' in input ? service.getFor(input, { source: 'http', signal, ...options }) : service.get(input, { source: 'http', signal, ...options })
  let result = first ?? (await fromService(() => get({ refresh })))
  if (await send(result)) return reply
  request.log.warn({ key: result.key }, 'cached file changed after the lookup; asking again')
  result = await fromService(() => get({}))
  if (await send(result)) return reply
  throw new TtsError('TTS_ERR_STORE_IO', { args: [`${result.key}.wav disappeared twice while being served`] })
}

/** GET|HEAD /v1/tts: the WAV for a phrase. */
function wavRoute(app: FastifyInstance, deps: RouteDeps, state: TtsRouteState): void {
  const { service, phrases, closing } = state
  const { httpAccelRedirect: accelPrefix, authAllRoutes, httpAccelLookupSeconds } = app.tts.config
  // With every route behind the token, the answer depends on it: the front may not keep it.
  const accelKeep = authAllRoutes ? 0 : httpAccelLookupSeconds
  app.route<{ Querystring: PhraseQuery }>({
    method: ['GET', 'HEAD'],
    url: '/v1/tts',
    schema: {
      summary: 'The WAV for a phrase (rendered once if needed)',
      description:
        'Index lookup (the file is checked on disk: a deleted, truncated or replaced one is a miss), then the file; on a miss the phrase is rendered once however many callers ask (X-TTS-Cache: hit | rendered | coalesced). ' +
        'Supports HEAD, If-None-Match (304) and one Range (206). refresh=true re-renders and replaces the entry (bearer token required).',
      tags: ['audio'],
      querystring: phraseQuerySchema,
      response: {
        200: wavResponse,
        206: partialWavResponse,
        304: notModifiedResponse,
        ...errorResponses(400, 401, 413, 416, 500, 502, 503, 504),
      },
    },
    handler: async (request, reply) => {
      // The hit listener waited on the render for this request already, and hands over what came of it.
      const waited = takeWaited(request.raw)
      if (waited instanceof Error) throw waited
      const { text, voice, engine, rate } = request.query
      const refresh = request.query.refresh === true
      if (refresh) requireToken(deps, request)
      const input: PhraseInput = { text, voice, engine, sampleRate: rate }
      // A repeated query skips normalising and hashing (undefined: it does not resolve, and the
      // counted path below says why).
      const resolved = refresh ? undefined : phrases.resolve(rawQueryOf(request.url), input)
      if (!refresh && request.headers['if-none-match'] !== undefined) {
        // The key names the exact audio: a client holding it needs nothing, not even a render.
        const { key } = resolved ?? service.resolve(input)
        if (ifNoneMatchMatches(request.headers['if-none-match'], key)) return sendNotModified(reply, key)
      }
      const sendOptions = { conditional: !refresh, hot: app.hotAudio, closing }
      const send = async (result: TtsResult): Promise<boolean> =>
        sendAccelRedirect(request, reply, result, accelPrefix, accelKeep) || sendAudioFile(request, reply, result, { ...sendOptions, cacheStatus: result.status })
      if (resolved === undefined || waited !== undefined) return getAudio(state, request, reply, resolved ?? input, refresh, send, waited)
      // A hit (counted once, here) whose bytes are in memory is answered at once: no wait signal, no
      // promise chain (or handed to the nginx front when it asked for X-Accel-Redirect).
      const hit = service.hit(resolved, 'http')
      if (hit !== undefined && (sendAccelRedirect(request, reply, hit, accelPrefix, accelKeep) || sendHotHit(request, reply, hit.entry, { ...sendOptions, cacheStatus: 'hit' }))) return reply
      return getAudio(state, request, reply, resolved, refresh, send, hit)
    },
  })
}

/** POST /v1/tts: renders if needed and says where the WAV is. */
function placeRoute(app: FastifyInstance, deps: RouteDeps, state: TtsRouteState): void {
  const { service, deadlineMs } = state
  app.route<{ Body: PhraseBody; Querystring: { refresh?: boolean } }>({
    method: 'POST',
    url: '/v1/tts',
    config: { accepts: ['application/json'] },
    schema: {
      summary: 'Cache a phrase and say where its WAV is',
      description:
        'Renders the phrase if needed and answers with its key, path and stable URL. refresh=true re-renders and replaces the entry (bearer token required).',
      tags: ['audio'],
      querystring: refreshQuerySchema,
      body: phraseBodySchema,
      response: { 200: renderResultSchema, ...errorResponses(400, 401, 413, 415, 500, 502, 503, 504) },
    },
    handler: async (request, reply) => {
      const refresh = request.query.refresh === true
      if (refresh) requireToken(deps, request)
      const { text, voice, engine, rate } = request.body
      const result = await fromService(() =>
        service.get({ text, voice, engine, sampleRate: rate }, { source: 'http', refresh, signal: requestWaitSignal(reply.raw, deadlineMs) }),
      )
      reply.header('x-tts-cache', result.status)
      return {
        key: result.key,
        path: result.path,
        url: audioUrl(deps, request, result.key),
        status: result.status,
        bytes: result.bytes,
        durationMs: result.durationMs,
      }
    },
  })
}
