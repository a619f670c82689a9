import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from './output.js'

export const USAGE = `Usage: tts-cache <command> [options]

Commands:
  serve                     run the ESL hook and the HTTP API (and in-process workers)
                              --supervise: run it as a child, SIGKILL and restart it when its
                              event loop stops beating for TTS_WATCHDOG_MS (no systemd needed)
  worker                    run render workers only (needs REDIS_URL)
  get <text>                print the WAV path for <text>, rendering it if needed
                              --voice V --engine E --rate HZ --json
                              (text starting with "-": tts-cache get -- "-text")
  prewarm <file|->          render every phrase of a file (one per line, or JSON lines
                              {"text","voice","engine","rate","pin"}); - reads stdin
                              --pin --voice V --engine E --rate HZ --json
  stats                     cache entries, bytes, pinned, evictions   --json
  purge --key K | --all | --voice V [--engine E]
                            delete cache entries; pinned ones only with --include-pinned
                              --dry-run (count only) --yes (--all without asking) --json
  doctor                    check engines, sox, cache dir and config   --json

Global options:
  --config FILE             JSON config file (also TTS_CONFIG); environment variables win
  --cache-dir DIR           same as TTS_CACHE_DIR
  -h, --help                this text
  -v, --version             the version

Configuration: docs/configuration.md. Errors: docs/errors.md.`

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
