import type { EslFrame } from '../codec/frame.js'

/** A reply that says no: `-ERR…` in Reply-Text (command/reply) or in the api/response body. */
export function isRefusal(frame: EslFrame): boolean {
  // The first byte is enough ('-' is ASCII): no need to decode the body.
  if (frame.contentType === 'api/response') return frame.body?.[0] === 0x2d
  return (frame.header('Reply-Text') ?? '').startsWith('-')
}

/** `-ERR command not found` as a command/reply: the `api` refusal of a socket without `full`. */
export function isCommandNotFound(frame: EslFrame): boolean {
  return frame.contentType === 'command/reply' && (frame.header('Reply-Text') ?? '').startsWith('-ERR command not found')
}
