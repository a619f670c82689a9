import type { FastifyInstance, FastifySchemaValidationError } from 'fastify'
import { toTtsError } from '../../core/errors.js'
import { parsePhraseList, unknownName, type PhraseListItem } from '../../core/phrase-list.js'
import type { PrewarmItem } from '../../core/prewarm-batches.js'
import type { TtsService } from '../../core/tts-service.js'
import { httpError } from '../http-errors.js'
import { errorResponses } from '../schemas/errors.js'
import {
  prewarmAcceptedSchema,
  prewarmJsonBodySchema,
  prewarmProgressSchema,
  prewarmQuerySchema,
  prewarmTextBodySchema,
  PREWARM_QUERY_PARAMETERS,
  type PrewarmJsonBody,
  type PrewarmQuery,
} from '../schemas/prewarm.js'

/** POST /v1/prewarm (start a batch) and GET /v1/prewarm/:id (its progress). */
export async function prewarmRoutes(app: FastifyInstance): Promise<void> {
  submitRoute(app)
  progressRoute(app)
}

/** POST /v1/prewarm: a batch as JSON or text/plain, submitted to the pre-warm batches (202 and its id). */
function submitRoute(app: FastifyInstance): void {
  const maxItems = app.tts.config.prewarmMaxItems
  app.post<{ Body: PrewarmJsonBody | string; Querystring: PrewarmQuery }>(
    '/v1/prewarm',
    {
      config: { auth: 'token', accepts: ['application/json', 'text/plain'] },
      schemaErrorFormatter: prewarmQueryError,
      schema: {
        summary: 'Pre-warm phrases (e.g. the prompts of a new IVR)',
        description:
          `Accepts a batch of at most ${maxItems} phrases (TTS_PREWARM_MAX_ITEMS) as JSON {items:[…]} or text/plain (a phrase list: ` +
          'one phrase per line, `#` comments, JSON lines with their own voice/engine/rate/pin; a line that cannot be read is 400) ' +
          'and renders the missing ones in the background at lower priority than live calls, with bounded concurrency. ' +
          'Idempotent: cached phrases are counted, not rendered again. Invalid items are listed in `rejected`; the rest go ahead. ' +
          'The query string (voice, engine, rate, pin) gives the defaults of every phrase, JSON or text; unknown parameters, ' +
          'and a default the service cannot use, are 400. ' +
          'Bearer token required.',
        tags: ['prewarm'],
        querystring: prewarmQuerySchema,
        body: {
          content: {
            'application/json': { schema: prewarmJsonBodySchema },
            'text/plain': { schema: prewarmTextBodySchema },
          },
        },
        response: { 202: prewarmAcceptedSchema, ...errorResponses(400, 401, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      const defaults = queryDefaults(request.query)
      checkDefaults(app.tts.service, defaults)
      let items: PrewarmItem[]
      if (typeof request.body === 'string') {
        const { items: lines, errors } = parsePhraseList(request.body, defaults)
        if (errors.length > 0) {
          const shown = errors.slice(0, 5).map((e) => `line ${e.line}: ${e.message}`)
          throw httpError('TTS_ERR_BAD_REQUEST', `the phrase list has ${errors.length} unreadable line(s): ${shown.join('; ')}${errors.length > 5 ? '; …' : ''}`)
        }
        items = lines.map((l) => l.item)
      } else {
        items = request.body.items.map(({ text, voice, engine, rate, pin }) => ({
          ...defaults,
          text,
          ...(voice === undefined ? {} : { voice }),
          ...(engine === undefined ? {} : { engine }),
          ...(rate === undefined ? {} : { sampleRate: rate }),
          ...(pin === undefined ? {} : { pin }),
        }))
      }
      if (items.length === 0) throw httpError('TTS_ERR_BAD_REQUEST', 'the batch has no phrases')
      if (items.length > maxItems) {
        throw httpError('TTS_ERR_PAYLOAD_TOO_LARGE', `a batch holds at most ${maxItems} phrases (TTS_PREWARM_MAX_ITEMS); this one has ${items.length}`)
      }
      const accepted = app.prewarm.submit(items)
      return reply.code(202).header('location', `/v1/prewarm/${accepted.id}`).send(accepted)
    },
  )
}

/** GET /v1/prewarm/:id: a batch's progress. */
function progressRoute(app: FastifyInstance): void {
  app.get<{ Params: { id: string } }>(
    '/v1/prewarm/:id',
    {
      schema: {
        summary: 'Progress of a pre-warm batch',
        description: 'done + failed = total once state is no longer running. Batches are kept in memory (the oldest finished ones are forgotten first).',
        tags: ['prewarm'],
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 100 } }, required: ['id'] },
        response: { 200: prewarmProgressSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const progress = app.prewarm.progress(request.params.id)
      if (progress === undefined) throw httpError('TTS_ERR_NOT_FOUND', `pre-warm batch ${request.params.id.slice(0, 100)} not found`)
      return { ...progress, finishedAt: progress.finishedAt ?? null }
    },
  )
}

/** The query's defaults as a phrase list's defaults (fields absent from the query left out). */
function queryDefaults(query: PrewarmQuery): Omit<PhraseListItem, 'text'> {
  return {
    ...(query.voice === undefined ? {} : { voice: query.voice }),
    ...(query.engine === undefined ? {} : { engine: query.engine }),
    ...(query.rate === undefined ? {} : { sampleRate: query.rate }),
    ...(query.pin === undefined ? {} : { pin: query.pin }),
  }
}

/**
 * A voice, engine or rate in the query that the service cannot use is the request's error (400
 * naming the parameter), not one rejected item per phrase.
 */
function checkDefaults(service: TtsService, defaults: Omit<PhraseListItem, 'text'>): void {
  if (defaults.voice === undefined && defaults.engine === undefined && defaults.sampleRate === undefined) return
  try {
    service.resolve({ ...defaults, text: 'x' })
  } catch (err) {
    const error = toTtsError(err)
    const given = (['voice', 'engine', 'sampleRate'] as const)
      .filter((k) => defaults[k] !== undefined)
      .map((k) => `${k === 'sampleRate' ? 'rate' : k}=${String(defaults[k]).slice(0, 60)}`)
    throw httpError(error.code, `query ${given.join('&')}: ${error.message}`)
  }
}

/** The query's first problem, naming the parameter (an unknown one with a suggestion). */
function prewarmQueryError(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const first = errors[0]
  if (dataVar !== 'querystring') return new Error(`${dataVar}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`)
  if (first?.keyword === 'additionalProperties') {
    const name = String(first.params['additionalProperty'] ?? '')
    return new Error(`${unknownName('query parameter', name, PREWARM_QUERY_PARAMETERS)}: POST /v1/prewarm takes ${PREWARM_QUERY_PARAMETERS.join(', ')}`)
  }
  const name = first?.instancePath.replace(/^\//, '') ?? ''
  if (first?.keyword === 'type' && first.params['type'] === 'boolean') return new Error(`${name} must be true or false`)
  return new Error(`querystring${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`)
}
