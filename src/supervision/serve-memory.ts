/**
 * How the Node process that runs `serve` is started so that its memory stays bounded (issue 19,
 * goal 4: RSS ≤ 150 MiB with a 100,000-entry index during and after sustained load). These are
 * process settings, not TTS_* settings: glibc and V8 read them before any of our code runs, so
 * whatever starts the process applies them — `serve --supervise` for its child (below), the
 * systemd unit, the Docker image, scripts/bootstrap.sh. docs/operations.md ("Memory") has the
 * measurements; docs/configuration.md lists them.
 *
 * - `--max-semi-space-size=4`: the start-up scan otherwise grows V8's young generation to its
 *   maximum and V8 keeps it.
 * - `--optimize-for-size`: V8's old generation grows its next collection limit by a smaller
 *   factor. Without it, under steady ESL + HTTP load garbage piles up in the old generation
 *   between full collections (V8 heap 43 → 170 MiB, RSS 124 → 300 MiB in 3 minutes); with it the
 *   heap settles near 60 MiB. No hard limit: a larger index is not killed by an out-of-memory.
 * - `MALLOC_ARENA_MAX=2`: glibc gives every thread that mallocs (libuv's pool, the watchdog
 *   thread, V8's helpers) an arena of its own, up to 8 per core, each keeping freed memory.
 * - `MALLOC_MMAP_THRESHOLD_=131072`: a fixed threshold, so an allocation of 128 KiB or more (a
 *   WAV's Buffer, a read chunk) is its own mapping, given back to the system when freed. glibc's
 *   default threshold grows to the largest block freed so far (up to 32 MiB): after the first
 *   WAV-sized free every later one comes from an arena, and the holes it leaves stay resident
 *   (k6 mixed, 100k entries: RSS 165 → 154 MiB with it; docs/operations.md, "Memory").
 */

/** Node flags `serve` runs with (not allowed in NODE_OPTIONS: `--optimize-for-size` is not). */
export const SERVE_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=4', '--optimize-for-size'])

/** Environment `serve` runs with, unless the operator set the variable already. */
export const SERVE_ENV_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' })

/**
 * `--name=value` and `--name value` → `--name`; V8 accepts `_` for `-` in flag names, and
 * `--no-name` turns a boolean flag off: it is a choice about `--name` too.
 */
function flagName(arg: string): string {
  const name = (arg.split('=', 1)[0] ?? arg).replaceAll('_', '-')
  return name.startsWith('--no-') ? `--${name.slice('--no-'.length)}` : name
}

/**
 * The supervised child's Node flags: the parent's own (`execArgv`), then each of
 * SERVE_NODE_FLAGS the operator did not give already, on the command line or in NODE_OPTIONS
 * (an operator's `--max-semi-space-size=8` stays theirs, and so does `--no-optimize-for-size`:
 * docs/configuration.md says when to drop it).
 */
export function serveChildExecArgv(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((a) => a.startsWith('--')).map(flagName))
  return [...execArgv, ...SERVE_NODE_FLAGS.filter((flag) => !given.has(flagName(flag)))]
}

/** The supervised child's environment: `env` plus each of SERVE_ENV_DEFAULTS it does not set. */
export function serveChildEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const added = Object.entries(SERVE_ENV_DEFAULTS).filter(([name]) => env[name] === undefined || env[name] === '')
  return { ...env, ...Object.fromEntries(added) }
}
