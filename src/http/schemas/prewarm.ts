/** POST /v1/prewarm (a batch as JSON or text/plain) and GET /v1/prewarm/:id (its progress). */
import { engineField, rateField, rateQueryField, textField, voiceField } from './phrase-fields.js'

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
  description:
    'A phrase list (docs/http.md "Phrase lists"): one phrase per line, `#` comments and blank lines skipped, a line starting with `{` is JSON ' +
    '{"text", "voice", "engine", "rate", "pin"}; voice, engine, rate and pin in the query string are the defaults of every line',
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
  description:
    'Defaults for every phrase of the batch (text/plain lines and JSON items), used where a line or item leaves the field out. ' +
    'Unknown parameters are 400; a voice, engine or rate the service cannot use is 400 before anything is queued',
  properties: {
    voice: voiceField,
    engine: engineField,
    rate: rateQueryField,
    pin: { type: 'boolean', description: 'Pin every phrase that does not say otherwise' },
  },
  additionalProperties: false,
} as const

export const PREWARM_QUERY_PARAMETERS: readonly string[] = Object.keys(prewarmQuerySchema.properties)

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
