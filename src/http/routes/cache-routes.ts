import type { FastifyInstance, FastifySchemaValidationError } from 'fastify'
import { isCacheKey } from '../../core/cache-key.js'
import { TtsError } from '../../core/errors.js'
import { purgeEntries } from '../../core/purge.js'
import { httpError } from '../http-errors.js'
import { audioUrl, type RouteDeps } from '../route-deps.js'
import {
  entrySchema,
  keyParamsSchema,
  PURGE_QUERY_PARAMETERS,
  purgeQuerySchema,
  purgeResultSchema,
  purgeSelectionResultSchema,
  type PurgeQuery,
} from '../schemas/cache.js'
import { errorResponses } from '../schemas/errors.js'

function checkedKey(key: string): string {
  if (!isCacheKey(key)) throw new TtsError('TTS_ERR_INVALID_KEY', { args: [String(key).slice(0, 80)] })
  return key
}

/** GET /v1/cache/:key (metadata), DELETE /v1/cache/:key and DELETE /v1/cache (purge). */
export async function cacheRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  describeEntryRoute(app, deps)
  removeEntryRoute(app)
  purgeRoute(app)
}

/** GET /v1/cache/:key: the sidecar metadata of one entry, with its URL. */
function describeEntryRoute(app: FastifyInstance, deps: RouteDeps): void {
  const { store } = app.tts
  app.get<{ Params: { key: string } }>(
    '/v1/cache/:key',
    {
      schema: {
        summary: 'Metadata of a cached entry',
        description: 'The sidecar metadata (text, voice, engine and version, rate, size, duration, pinned), plus its path and URL.',
        tags: ['cache'],
        params: keyParamsSchema,
        response: { 200: entrySchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const key = checkedKey(request.params.key)
      const entry = await store.describe(key)
      if (entry === undefined) throw httpError('TTS_ERR_NOT_FOUND', `cache entry ${key} not found`)
      return { ...entry, url: audioUrl(deps, request, key) }
    },
  )
}

/** DELETE /v1/cache/:key: purge one entry. */
function removeEntryRoute(app: FastifyInstance): void {
  const { store } = app.tts
  app.delete<{ Params: { key: string } }>(
    '/v1/cache/:key',
    {
      config: { auth: 'token' },
      schema: {
        summary: 'Purge one entry',
        description: 'Removes the WAV and its metadata (bearer token required). A later request renders it again.',
        tags: ['cache'],
        params: keyParamsSchema,
        response: { 200: purgeResultSchema, ...errorResponses(400, 401, 404, 500) },
      },
    },
    async (request) => {
      const key = checkedKey(request.params.key)
      const removed = await store.remove(key)
      if (!removed) throw httpError('TTS_ERR_NOT_FOUND', `cache entry ${key} not found`)
      request.log.info({ key }, 'purged one cache entry')
      return { removed: 1 }
    },
  )
}

/**
 * DELETE /v1/cache: purge the entries of a voice and/or engine, or (all=true, alone) everything;
 * pinned entries kept unless include_pinned=true; dry_run=true only counts.
 */
function purgeRoute(app: FastifyInstance): void {
  const { store } = app.tts
  app.delete<{ Querystring: PurgeQuery }>(
    '/v1/cache',
    {
      config: { auth: 'token' },
      schemaErrorFormatter: purgeQueryError,
      schema: {
        summary: 'Purge a selection, or everything',
        description:
          'Removes every entry of a voice and/or engine (both given: entries matching both). ' +
          'Purging everything needs an explicit all=true, alone (bearer token required). Pinned entries are kept ' +
          '(and counted in keptPinned) unless include_pinned=true; dry_run=true counts and removes nothing. ' +
          'Unknown parameters, empty values and booleans other than true/false are 400.',
        tags: ['cache'],
        querystring: purgeQuerySchema,
        response: { 200: purgeSelectionResultSchema, ...errorResponses(400, 401, 500) },
      },
    },
    async (request) => {
      const { voice, engine, all } = request.query
      const hasFilter = voice !== undefined || engine !== undefined
      if (all === true && hasFilter) throw httpError('TTS_ERR_BAD_REQUEST', 'all=true purges everything: do not combine it with voice or engine')
      if (all !== true && !hasFilter) {
        throw httpError('TTS_ERR_BAD_REQUEST', 'give voice and/or engine to purge a selection, or all=true to purge everything')
      }
      const filter = { ...(voice === undefined ? {} : { voice }), ...(engine === undefined ? {} : { engine }) }
      const result = await purgeEntries(store, { filter, includePinned: request.query.include_pinned === true, dryRun: request.query.dry_run === true })
      if (result.dryRun) request.log.info({ filter, ...result }, 'cache purge dry run')
      else if (all === true) request.log.warn({ ...result }, 'purged the whole cache')
      else request.log.info({ filter, ...result }, 'purged cache entries')
      return result
    },
  )
}

/** The query's first problem, in words an operator acts on (Ajv's, with the parameter named). */
function purgeQueryError(errors: FastifySchemaValidationError[]): Error {
  const first = errors[0]
  const name = first?.instancePath.replace(/^\//, '') ?? ''
  switch (first?.keyword) {
    case 'additionalProperties':
      return new Error(`DELETE /v1/cache takes only ${PURGE_QUERY_PARAMETERS.join(', ')}: unknown query parameter`)
    case 'minLength':
      return new Error(`${name} is empty: give a ${name} name, or all=true to purge everything`)
    case 'type':
      return new Error(first?.params['type'] === 'boolean' ? `${name} must be true or false` : `${name} must be given once, as text`)
    default:
      return new Error(`querystring${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`)
  }
}
