import { ENV_NAMES } from './schema.js'
import { closest } from './suggest.js'

/** Environment names the service reads that are not settings (read by src/cli only). */
const OTHER_NAMES = ['TTS_CONFIG', 'TTS_SUPERVISED', 'TTS_COMPILE_CACHE_DIR'] as const

/** Prefixes that belong to this service: a variable with one of them is meant for it. */
const OWN_PREFIXES = ['TTS_', 'FS_ESL_'] as const

/**
 * One warning per environment variable that looks meant for the service (TTS_*, FS_ESL_*) but
 * is no setting it reads, with the closest known name when it looks like a typo:
 * `TTS_CACHE_DRI is not a setting (did you mean TTS_CACHE_DIR?)`.
 */
export function unknownEnvWarnings(env: Readonly<Record<string, string | undefined>>): string[] {
  const known = new Set<string>([...Object.keys(ENV_NAMES), ...OTHER_NAMES])
  const warnings: string[] = []
  for (const name of Object.keys(env).sort()) {
    if (known.has(name) || !OWN_PREFIXES.some((p) => name.startsWith(p))) continue
    const suggestion = closest(name, known)
    warnings.push(`${name} is not a setting${suggestion === undefined ? ' (ignored; docs/configuration.md lists them)' : ` (did you mean ${suggestion}?)`}`)
  }
  return warnings
}
