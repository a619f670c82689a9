/** GET /readyz: every readiness check, when ready and when not. */
import { ERROR_CODES } from '../../core/errors.js'

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
