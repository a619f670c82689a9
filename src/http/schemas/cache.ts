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
  dry_run?: boolean
  include_pinned?: boolean
}

/**
 * Strict: an unknown parameter (`dry_rn`, `pinned`) is a 400 naming it, never ignored (a
 * mistyped `dry_run` must not purge); an empty voice/engine is a 400, not "any"; booleans are
 * exactly `true` or `false` (`all=1` is a 400 saying so, see `purgeQueryError`).
 */
export const purgeQuerySchema = {
  type: 'object',
  properties: {
    voice: { type: 'string', minLength: 1, description: 'Purge entries of this voice' },
    engine: { type: 'string', minLength: 1, description: 'Purge entries of this engine' },
    all: { type: 'boolean', description: 'Purge everything (needed when neither voice nor engine is given; not with them)' },
    dry_run: { type: 'boolean', description: 'Count what would be removed; remove nothing' },
    include_pinned: { type: 'boolean', description: 'Remove matching pinned entries too (default: they are kept and counted in keptPinned)' },
  },
  additionalProperties: false,
} as const

export const PURGE_QUERY_PARAMETERS = Object.keys(purgeQuerySchema.properties)

export const purgeSelectionResultSchema = {
  type: 'object',
  properties: {
    dryRun: { type: 'boolean' },
    removed: { type: 'integer', description: 'Entries removed (0 on a dry run)' },
    wouldRemove: { type: 'integer', description: 'Dry run only: entries a purge would remove now' },
    keptPinned: { type: 'integer', description: 'Matching pinned entries kept (0 with include_pinned=true)' },
  },
  required: ['dryRun', 'removed', 'keptPinned'],
} as const

export const purgeResultSchema = {
  type: 'object',
  properties: { removed: { type: 'integer', description: 'Entries removed' } },
  required: ['removed'],
} as const
