/** GET|DELETE /v1/cache/:key (one entry's metadata, purge it) and DELETE /v1/cache (purge a selection). */

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
