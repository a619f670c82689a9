import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from './output.js'

const GLOBAL_OPTIONS = {
  config: { type: 'string' },
  'cache-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies NonNullable<ParseArgsConfig['options']>

/** Strict parsing: unknown options and missing values are usage errors (exit 2). */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
}

/** Config overrides from global flags. */
export function flagOverrides(values: { 'cache-dir'?: string | undefined }): Record<string, unknown> {
  return values['cache-dir'] === undefined ? {} : { cacheDir: values['cache-dir'] }
}
