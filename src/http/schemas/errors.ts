/** The one error body of every route, `{code, message}` (codes from src/core/errors.ts). */
import { ERROR_CODES } from '../../core/errors.js'

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
