import type { z } from 'zod'
import { SECRET_KEYS } from './schema.js'

type Issue = z.core.$ZodIssue

/** The unit a numeric setting is in, from its key's suffix. */
function unitOf(key: string): string {
  if (/Ms$/.test(key)) return ' milliseconds'
  if (/Seconds$/.test(key)) return ' seconds'
  if (/Bytes$/.test(key)) return ' bytes'
  return ''
}

/** The bounds of a numeric setting, read from its schema (a default and refinements wrap it). */
function boundsOf(field: z.ZodType | undefined): { min?: number; max?: number } {
  let inner: unknown = field
  for (let depth = 0; depth < 5 && inner !== undefined; depth++) {
    const candidate = inner as { minValue?: number | null; maxValue?: number | null; def?: { innerType?: unknown; type?: string } }
    if (candidate.def?.type === 'number') {
      return { ...(typeof candidate.minValue === 'number' ? { min: candidate.minValue } : {}), ...(typeof candidate.maxValue === 'number' ? { max: candidate.maxValue } : {}) }
    }
    inner = candidate.def?.innerType
  }
  return {}
}

function range(key: string, field: z.ZodType | undefined): string {
  const { min, max } = boundsOf(field)
  const unit = unitOf(key)
  if (/Port$/.test(key)) return 'a TCP port from 0 to 65535 (0: any free port)'
  if (min !== undefined && max !== undefined && max < Number.MAX_SAFE_INTEGER) return `a whole number from ${min} to ${max}${unit}`
  if (min !== undefined) return `a whole number of at least ${min}${unit}`
  return `a number${unit}`
}

/** What a setting must be, said for an operator; undefined when zod's own message is already one (custom checks). */
function expectation(issue: Issue, key: string, field: z.ZodType | undefined): string | undefined {
  switch (issue.code) {
    case 'too_small':
      return issue.origin === 'string' ? 'must not be empty' : issue.origin === 'array' ? issue.message : `must be ${range(key, field)}`
    case 'too_big':
      return issue.origin === 'number' || issue.origin === 'int' ? `must be ${range(key, field)}` : issue.message
    case 'invalid_type':
      if (issue.expected === 'number' || issue.expected === 'int') return `must be ${range(key, field)}`
      return `must be a ${issue.expected}`
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`
    case 'invalid_union':
      return issue.errors.some((branch) => branch.some((i) => i.code === 'invalid_type' && i.expected === 'boolean'))
        ? 'must be true or false (also 1/0, yes/no)'
        : `is not valid (${issue.errors.flat().map((i) => i.message).join('; or ')})`
    case 'invalid_format':
      return issue.format === 'url' ? 'must be a URL' : `must be a valid ${issue.format}`
    default:
      return undefined
  }
}

function shown(key: string, value: unknown): string {
  if ((SECRET_KEYS as readonly string[]).includes(key)) return '[redacted]'
  const text = (typeof value === 'string' ? value : JSON.stringify(value)).replace(/\/\/[^@/]*@/, '//[redacted]@')
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/**
 * One line per problem, naming where the value came from (environment variable or file key),
 * the value and what it must be: `TTS_RENDER_TIMEOUT_MS=50: must be a whole number from 100
 * to 600000 milliseconds` — never zod's raw "Too small: expected number to be >=100".
 */
export function describeIssue(issue: Issue, source: string | undefined, merged: Readonly<Record<string, unknown>>, shape: Readonly<Record<string, z.ZodType>>): string {
  const key = issue.path.map(String).join('.')
  const top = String(issue.path[0] ?? '')
  const where = source ?? (key || 'config')
  const expected = expectation(issue, top, shape[top])
  const value = merged[top]
  if (value === undefined) return `${where}: ${expected ?? issue.message}`
  const separator = where.includes(':') ? ' = ' : '='
  return `${where}${separator}${shown(top, value)}: ${expected ?? issue.message}`
}
