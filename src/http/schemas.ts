/**
 * JSON schemas of the routes: Fastify validates with them and @fastify/swagger builds the
 * OpenAPI document from them. Validation is structural (types, required fields) and strict:
 * no type coercion and no unknown properties in a JSON body (VALIDATION_OPTIONS in
 * lazy-schema-compilers.ts). The meaning of a phrase (empty text, unknown voice, bad rate…) is
 * checked by the core, so HTTP and ESL callers get the same typed codes. Query-string values are
 * text: `rate` there is the text the core parses, exactly as it parses `tts_cache_rate` over ESL.
 */
import { ERROR_CODES } from '../core/errors.js'
import { SAMPLE_RATES } from '../core/defaults.js'

export const errorSchema = {
  type: 'object',
  description: 'Every error: a stable code from the registry (docs/errors.md) and a readable message',
  properties: {
    code: { type: 'string', enum: Object.keys(ERROR_CODES) },
    message: { type: 'string' },
  },
  required: ['code', 'message'],
} as const

/** `{code, message}` for each listed status. */
export function errorResponses(...statuses: number[]): Record<number, typeof errorSchema> {
  const out: Record<number, typeof errorSchema> = {}
  for (const status of statuses) out[status] = errorSchema
  return out
}

const textField = {
  type: 'string',
  description: 'The phrase. Normalised (NFC, whitespace folded); at most TTS_MAX_TEXT_CHARS code points; no control characters',
} as const
const voiceField = {
  type: 'string',
  description: "Engine voice (letters, digits, _ . + -). Empty or absent: the configured default (TTS_VOICE)",
} as const
const engineField = {
  type: 'string',
  description: 'Engine id, one of the engines enabled on this node (`tts-cache doctor` lists them). Absent: TTS_ENGINE',
} as const
const rateField = {
  type: 'integer',
  description: `Sample rate in Hz, one of ${SAMPLE_RATES.join(', ')} (a JSON integer, not a string). Absent: TTS_SAMPLE_RATE`,
} as const
/** `rate` in a query string: text, parsed by the core (src/core/phrase.ts) as ESL's tts_cache_rate is. */
const rateQueryField = {
  type: 'string',
  description:
    `Sample rate in Hz, one of ${SAMPLE_RATES.join(', ')}, as decimal digits only (no sign, leading zero, fraction or exponent: ` +
    '8000.0, +8000, 08000 and 8e3 are refused with TTS_ERR_INVALID_RATE). Absent: TTS_SAMPLE_RATE',
} as const

export interface PhraseQuery {
  text: string
  voice?: string
  engine?: string
  /** Text: the core parses it. */
  rate?: string
  refresh?: boolean
  ext?: '.wav'
}

export const phraseQuerySchema = {
  type: 'object',
  properties: {
    text: textField,
    voice: voiceField,
    engine: engineField,
    rate: rateQueryField,
    refresh: {
      type: 'boolean',
      description: 'Re-render even if cached, replacing the entry (needs the bearer token)',
    },
    ext: {
      type: 'string',
      enum: ['.wav'],
      description:
        "Ignored. Put it last so the URL ends in .wav: mod_http_cache takes the file format from the URL's last dot, which may otherwise fall inside the text",
    },
  },
  required: ['text'],
} as const

export interface PhraseBody {
  text: string
  voice?: string
  engine?: string
  rate?: number
}

export const phraseBodySchema = {
  type: 'object',
  properties: { text: textField, voice: voiceField, engine: engineField, rate: rateField },
  required: ['text'],
  additionalProperties: false,
} as const

export const renderResultSchema = {
  type: 'object',
  properties: {
    key: { type: 'string', description: 'Cache key: sha256 over every parameter that changes the audio' },
    path: { type: 'string', description: 'Absolute path of the WAV on the cache host' },
    url: { type: 'string', description: 'Stable URL of the WAV (GET /v1/audio/<key>.wav), for mod_http_cache' },
    status: { type: 'string', enum: ['hit', 'rendered', 'coalesced'] },
    bytes: { type: 'integer' },
    durationMs: { type: 'integer' },
  },
  required: ['key', 'path', 'url', 'status', 'bytes', 'durationMs'],
} as const

export const wavResponse = {
  description: 'The WAV (PCM16 mono). Headers: ETag "<key>", X-TTS-Cache, Cache-Control immutable, Accept-Ranges',
  content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } },
} as const

export const partialWavResponse = {
  description: 'One byte range of the WAV (Content-Range)',
  content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } },
} as const

export const notModifiedResponse = { description: 'Not modified (If-None-Match matched the key)', type: 'null' } as const

export interface PrewarmItemBody {
  text: string
  voice?: string
  engine?: string
  rate?: number
  pin?: boolean
}

export interface PrewarmJsonBody {
  items: PrewarmItemBody[]
}

export const prewarmJsonBodySchema = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      description: 'Phrases to cache (at most TTS_PREWARM_MAX_ITEMS, default 10,000)',
      items: {
        type: 'object',
        properties: {
          text: textField,
          voice: voiceField,
          engine: engineField,
          rate: rateField,
          pin: { type: 'boolean', description: 'Never evict this entry' },
        },
        required: ['text'],
        additionalProperties: false,
      },
    },
  },
  required: ['items'],
  additionalProperties: false,
} as const

export const prewarmTextBodySchema = {
  type: 'string',
  description: 'One phrase per line (blank lines are skipped); voice, engine, rate and pin come from the query string',
} as const

export interface PrewarmQuery {
  voice?: string
  engine?: string
  /** Text: the core parses it. */
  rate?: string
  pin?: boolean
}

export const prewarmQuerySchema = {
  type: 'object',
  description: 'Defaults for a text/plain body (ignored for JSON, whose items carry their own)',
  properties: {
    voice: voiceField,
    engine: engineField,
    rate: rateQueryField,
    pin: { type: 'boolean', description: 'Pin every phrase of a text/plain body' },
  },
} as const

const itemErrorSchema = {
  type: 'object',
  properties: {
    index: { type: 'integer', description: 'Position of the item in the batch (-1: the batch as a whole)' },
    code: { type: 'string' },
    message: { type: 'string' },
  },
  required: ['index', 'code', 'message'],
} as const

export const prewarmAcceptedSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    total: { type: 'integer' },
    cached: { type: 'integer', description: 'Already cached: nothing to render' },
    queued: { type: 'integer', description: 'Handed to the render queue at pre-warm priority' },
    rejected: { type: 'array', items: itemErrorSchema, description: 'Invalid items, never rendered' },
  },
  required: ['id', 'total', 'cached', 'queued', 'rejected'],
} as const

export const prewarmProgressSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: ['running', 'done', 'cancelled'] },
    total: { type: 'integer' },
    done: { type: 'integer', description: 'Items now cached' },
    failed: { type: 'integer', description: 'Rejected, failed or cancelled items' },
    cached: { type: 'integer', description: 'Items cached before the batch was submitted' },
    rendered: { type: 'integer', description: 'Items this batch rendered' },
    createdAt: { type: 'integer', description: 'ms since epoch' },
    finishedAt: { type: ['integer', 'null'], description: 'ms since epoch; null while running' },
    errors: { type: 'array', items: itemErrorSchema, description: 'The first failures' },
  },
  required: ['id', 'state', 'total', 'done', 'failed', 'cached'],
} as const

export const keyParamsSchema = {
  type: 'object',
  properties: { key: { type: 'string', description: 'Cache key (64 lowercase hex characters)' } },
  required: ['key'],
} as const

export const entrySchema = {
  type: 'object',
  description: 'The sidecar metadata of one cached WAV',
  properties: {
    key: { type: 'string' },
    text: { type: 'string' },
    voice: { type: 'string' },
    engine: { type: 'string' },
    engineVersion: { type: 'string' },
    sampleRate: { type: 'integer' },
    format: { type: 'string' },
    bytes: { type: 'integer' },
    durationMs: { type: 'integer' },
    createdAt: { type: 'integer', description: 'ms since epoch' },
    pinned: { type: 'boolean' },
    path: { type: 'string' },
    url: { type: 'string' },
  },
  required: ['key', 'text', 'voice', 'engine', 'engineVersion', 'sampleRate', 'format', 'bytes', 'durationMs', 'createdAt', 'pinned'],
} as const

export interface PurgeQuery {
  voice?: string
  engine?: string
  all?: boolean
}

export const purgeQuerySchema = {
  type: 'object',
  properties: {
    voice: { type: 'string', description: 'Purge entries of this voice' },
    engine: { type: 'string', description: 'Purge entries of this engine' },
    all: { type: 'boolean', description: 'Purge everything (needed when neither voice nor engine is given)' },
  },
} as const

export const purgeResultSchema = {
  type: 'object',
  properties: { removed: { type: 'integer', description: 'Entries removed' } },
  required: ['removed'],
} as const

const checkSchema = {
  type: 'object',
  properties: {
    ok: { type: 'boolean' },
    state: { type: 'string', enum: ['ok', 'degraded', 'failed'] },
    detail: { type: 'string' },
  },
  required: ['ok', 'state'],
} as const

export const readySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    checks: { type: 'object', additionalProperties: checkSchema },
  },
  required: ['status', 'checks'],
} as const

export const notReadySchema = {
  type: 'object',
  description:
    'Not ready: `{code, message}` naming the failing checks, plus every check (status and checks are absent when the request itself was refused: shutting down, under pressure)',
  properties: {
    code: { type: 'string', enum: Object.keys(ERROR_CODES) },
    message: { type: 'string' },
    status: { type: 'string', enum: ['failed'] },
    checks: { type: 'object', additionalProperties: checkSchema },
  },
  required: ['code', 'message'],
} as const
