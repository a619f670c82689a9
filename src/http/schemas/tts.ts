/** GET|POST /v1/tts: the phrase in a query string or a JSON body, and the JSON answer. */
import { engineField, rateField, rateQueryField, textField, voiceField } from './phrase-fields.js'

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
