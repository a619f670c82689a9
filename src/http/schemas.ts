/**
 * JSON schemas of the routes: Fastify validates with them and @fastify/swagger builds the
 * OpenAPI document from them. Validation is structural (types, required fields) and strict:
 * no type coercion and no unknown properties in a JSON body (VALIDATION_OPTIONS in
 * lazy-schema-compilers.ts). The meaning of a phrase (empty text, unknown voice, bad rate…) is
 * checked by the core, so HTTP and ESL callers get the same typed codes. Query-string values are
 * text: `rate` there is the text the core parses, exactly as it parses `tts_cache_rate` over ESL.
 *
 * One file per route group under schemas/ (phrase-fields.ts holds the fields /v1/tts and
 * /v1/prewarm share); this index re-exports them all.
 */
export * from './schemas/audio.js'
export * from './schemas/cache.js'
export * from './schemas/errors.js'
export * from './schemas/ops.js'
export * from './schemas/prewarm.js'
export * from './schemas/tts.js'
