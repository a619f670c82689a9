import type { FastifyInstance } from 'fastify'
import type { PrewarmItem } from '../../core/prewarm-batches.js'
import { httpError } from '../http-errors.js'
import { errorResponses } from '../schemas/errors.js'
import {
  prewarmAcceptedSchema,
  prewarmJsonBodySchema,
  prewarmProgressSchema,
  prewarmQuerySchema,
  prewarmTextBodySchema,
  type PrewarmJsonBody,
  type PrewarmQuery,
} from '../schemas/prewarm.js'

/** Splits a text/plain body into phrases: one per line (LF or CRLF), blank lines skipped. */
export function phrasesOf(body: string): string[] {
  return body.split(/\r?\n/).filter((line) => line.trim() !== '')
}

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
      schema: {
        summary: 'Pre-warm phrases (e.g. the prompts of a new IVR)',
        description:
          `Accepts a batch of at most ${maxItems} phrases (TTS_PREWARM_MAX_ITEMS) as JSON {items:[…]} or text/plain (one phrase per line) ` +
          'and renders the missing ones in the background at lower priority than live calls, with bounded concurrency. ' +
          'Idempotent: cached phrases are counted, not rendered again. Invalid items are listed in `rejected`; the rest go ahead. ' +
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
      let items: PrewarmItem[]
      if (typeof request.body === 'string') {
        const { voice, engine, rate, pin } = request.query
        items = phrasesOf(request.body).map((text) => ({ text, voice, engine, sampleRate: rate, pin }))
      } else {
        items = request.body.items.map(({ text, voice, engine, rate, pin }) => ({ text, voice, engine, sampleRate: rate, pin }))
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
