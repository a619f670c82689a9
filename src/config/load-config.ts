import { readFileSync } from 'node:fs'
import { TtsError } from '../core/errors.js'
import { describeIssue } from './config-issues.js'
import { defaultCacheDir } from './default-cache-dir.js'
import { configSchema, ENV_NAMES, type Config } from './schema.js'

export interface LoadConfigOptions {
  /** Usually process.env; only the CLI passes it. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** A JSON config file (keys as in docs/configuration.md). Default: $TTS_CONFIG if set. */
  readonly file?: string | undefined
  /** Values that win over everything (CLI flags, tests). */
  readonly overrides?: Readonly<Record<string, unknown>>
}

/**
 * Merges file < environment < overrides, validates once against the schema and returns a
 * frozen Config. Every problem is reported at once in one TTS_ERR_CONFIG error whose
 * `details.issues` lists them (name of the env var or file key, the value, and what it must be).
 * The cache directory, when not set anywhere, is defaultCacheDir()'s (the same for every command).
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? {}
  const problems: string[] = []
  const fromFile: Record<string, unknown> = {}
  const file = options.file ?? env['TTS_CONFIG']
  if (file !== undefined && file !== '') {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) problems.push(`${file}: must hold a JSON object`)
      else Object.assign(fromFile, parsed)
    } catch (err) {
      problems.push(`${file}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  const fromEnv: Record<string, unknown> = {}
  const sourceOf: Record<string, string> = {}
  for (const key of Object.keys(fromFile)) sourceOf[key] = `${file ?? 'config file'}: ${key}`
  for (const [name, key] of Object.entries(ENV_NAMES)) {
    const value = env[name]
    if (value !== undefined && value !== '') {
      fromEnv[key] = value
      sourceOf[key] = name
    }
  }
  const merged: Record<string, unknown> = { ...fromFile, ...fromEnv, ...options.overrides }
  // One rule for every command (src/config/default-cache-dir.ts), not the schema's fixed default.
  if (merged['cacheDir'] === undefined) merged['cacheDir'] = defaultCacheDir(env)
  const result = configSchema.safeParse(merged)
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) problems.push(`${sourceOf[k] ?? k}: unknown setting`)
        continue
      }
      problems.push(describeIssue(issue, sourceOf[issue.path.map(String).join('.')], merged, configSchema.shape))
    }
  }
  if (problems.length > 0 || !result.success) {
    throw new TtsError('TTS_ERR_CONFIG', { args: [problems.join('; ')], details: { issues: problems } })
  }
  return Object.freeze({ ...result.data })
}
