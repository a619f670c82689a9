/** The WAV answers of /v1/tts and /v1/audio/:file: whole, one byte range, or not modified. */

export const wavResponse = {
  description: 'The WAV (PCM16 mono). Headers: ETag "<key>", X-TTS-Cache, Cache-Control immutable, Accept-Ranges',
  content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } },
} as const

export const partialWavResponse = {
  description: 'One byte range of the WAV (Content-Range)',
  content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } },
} as const

export const notModifiedResponse = { description: 'Not modified (If-None-Match matched the key)', type: 'null' } as const
