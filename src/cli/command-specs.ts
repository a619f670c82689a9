/**
 * What each `tts-cache` command takes, for the parser (commander) and its help: arguments,
 * options and examples. The commands themselves (src/cli/commands/*) keep their
 * `(argv, env) => exit code` entry: run.ts hands them the parsed options back as a canonical argv.
 */
export interface OptionSpec {
  /** commander flags: `--voice <voice>` (takes a value) or `--json` (boolean); `-y, --yes` adds a short form. */
  readonly flags: string
  readonly description: string
}

export interface CommandSpec {
  readonly name: string
  /** commander argument syntax (`<text>`), when the command takes one. */
  readonly argument?: { readonly name: string; readonly description: string }
  readonly summary: string
  readonly details?: string
  readonly options: readonly OptionSpec[]
  readonly examples: readonly string[]
}

const JSON_OPTION: OptionSpec = { flags: '--json', description: 'print one JSON document instead of text' }
const VOICE: OptionSpec = { flags: '--voice <voice>', description: 'voice (default TTS_VOICE)' }
const ENGINE: OptionSpec = { flags: '--engine <engine>', description: 'engine id (default TTS_ENGINE)' }
const RATE: OptionSpec = { flags: '--rate <hz>', description: 'sample rate in Hz: 8000, 16000, 32000 or 48000 (default TTS_SAMPLE_RATE)' }

export const COMMAND_SPECS: readonly CommandSpec[] = [
  {
    name: 'serve',
    summary: 'run the ESL hook and the HTTP API (and in-process render workers)',
    details: 'Listens on TTS_ESL_HOST:TTS_ESL_PORT and TTS_HTTP_HOST:TTS_HTTP_PORT until SIGTERM/SIGINT.',
    options: [{ flags: '--supervise', description: 'run serve as a child; SIGKILL and restart it when its event loop stops beating for TTS_WATCHDOG_MS (no systemd needed)' }],
    examples: ['tts-cache serve', 'TTS_HTTP_PORT=8081 tts-cache serve --cache-dir /srv/tts-cache', 'tts-cache serve --supervise'],
  },
  {
    name: 'worker',
    summary: 'run render workers only (needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES)',
    options: [{ flags: '--concurrency <n>', description: 'renders at once (same as TTS_WORKER_CONCURRENCY; 0 = one per CPU core)' }],
    examples: ['REDIS_URL=redis://127.0.0.1:6379 tts-cache worker --concurrency 4'],
  },
  {
    name: 'get',
    argument: { name: '<text>', description: 'the phrase (quote it; text starting with "-" goes after --)' },
    summary: 'print the WAV path for <text>, rendering it if needed',
    options: [VOICE, ENGINE, RATE, JSON_OPTION],
    examples: ['tts-cache get "Thank you for calling."', 'tts-cache get --voice en-us --rate 16000 --json "Press one for sales."', 'tts-cache get -- "-5 degrees outside"'],
  },
  {
    name: 'prewarm',
    argument: { name: '<file>', description: 'phrase list, or - for stdin' },
    summary: 'render every phrase of a file (one per line, # comments, or JSON lines {"text","voice","engine","rate","pin"})',
    options: [{ flags: '--pin', description: 'pin every phrase (never evicted)' }, VOICE, ENGINE, RATE, JSON_OPTION],
    examples: ['tts-cache prewarm examples/prompts.txt', 'tts-cache prewarm --pin --voice en-us prompts.txt', 'printf "Hello\\nGoodbye\\n" | tts-cache prewarm -'],
  },
  {
    name: 'stats',
    summary: 'cache entries, bytes, pinned entries, evictions',
    options: [JSON_OPTION],
    examples: ['tts-cache stats', 'tts-cache --cache-dir /srv/tts-cache stats --json'],
  },
  {
    name: 'purge',
    summary: 'delete cache entries: exactly one of --key, --all, or --voice/--engine',
    details: 'Pinned entries are kept unless --include-pinned. --all asks on a terminal; elsewhere it needs --yes.',
    options: [
      { flags: '--key <key>', description: 'one entry, by its 64-hex cache key' },
      { flags: '--all', description: 'every entry' },
      { flags: '--voice <voice>', description: 'entries of this voice' },
      { flags: '--engine <engine>', description: 'entries of this engine' },
      { flags: '--dry-run', description: 'count what would be removed; remove nothing' },
      { flags: '--include-pinned', description: 'remove pinned entries too' },
      { flags: '-y, --yes', description: 'do not ask before --all' },
      JSON_OPTION,
    ],
    examples: ['tts-cache purge --voice en-us --dry-run', 'tts-cache purge --all --yes', 'tts-cache purge --key 3f…a9 --include-pinned'],
  },
  {
    name: 'doctor',
    summary: 'check engines, sox, cache dir, Redis and the configuration (exit 1 on any problem)',
    options: [JSON_OPTION],
    examples: ['tts-cache doctor', 'TTS_ENGINE=piper tts-cache doctor --json'],
  },
]

export const EXIT_CODES_HELP = `Exit codes:
  0  done
  1  the operation failed (render error, nothing to purge, a doctor check failed, invalid configuration)
  2  the command line is wrong (unknown command or option, missing value, confirmation refused off a terminal)

Configuration: docs/configuration.md. Errors: docs/errors.md. Commands: docs/cli.md.`
