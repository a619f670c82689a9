/**
 * How the Node process that runs `serve` is started so that its memory stays bounded (issue 19,
 * goal 4: RSS ≤ 150 MiB with a 100,000-entry index during and after sustained load). These are
 * process settings, not TTS_* settings: glibc and V8 read them before any of our code runs, so
 * whatever starts the process applies them — `serve --supervise` for its child (below), the
 * systemd unit, the Docker image, scripts/bootstrap.sh. docs/operations.md ("Memory") has the
 * measurements; docs/configuration.md lists them.
 *
 * - `--max-semi-space-size=1`: V8's young generation at 1 MiB a semi-space (the start-up scan
 *   otherwise grows it to its maximum and V8 keeps it).
 * - `--heap-growing-percent=10`: after each full collection V8 lets the old generation grow by
 *   10 % before the next one. Its own step is much larger, and under steady ESL + HTTP load the
 *   garbage piles up between full collections (the soak: heap 136 → 152 MiB, RSS 278 MiB within
 *   a minute without it; 143.6 MiB at most over 5 minutes with it).
 * - `MALLOC_ARENA_MAX=1`: one glibc malloc arena. With more, a thread that mallocs (V8's
 *   compiler threads above all: Maglev and TurboFan build their graphs in malloc'd zones) gets an
 *   arena of its own, and the holes its freed zones leave stay resident: the k6 mixed load with
 *   100,000 entries peaked at 197.7 MiB with 2 arenas, 142.7 MiB with 1 (30 s runs at f4c551f).
 * - No `--optimize-for-size` (shipped until f4c551f, with 2 arenas: 143.9 MiB in the same run):
 *   it held memory down the same ways, but also compiles for size; the ESL hook costs 0.76x
 *   the CPU per call without it (docs/configuration.md has the numbers).
 * - `MALLOC_MMAP_THRESHOLD_=131072`: a fixed threshold, so an allocation of 128 KiB or more (a
 *   WAV's Buffer, a read chunk) is its own mapping, given back to the system when freed. glibc's
 *   default threshold grows to the largest block freed so far (up to 32 MiB): after the first
 *   WAV-sized free every later one comes from an arena, and the holes it leaves stay resident
 *   (k6 mixed, 100k entries: RSS 165 → 154 MiB with it; docs/operations.md, "Memory").
 */

/** Node flags `serve` runs with (on the command line: NODE_OPTIONS does not allow `--heap-growing-percent`). */
export const SERVE_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=1', '--heap-growing-percent=10'])

/** Environment `serve` runs with, unless the operator set the variable already. */
export const SERVE_ENV_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' })

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
 * (an operator's `--max-semi-space-size=8` stays theirs; a `--no-X` is a choice about `--X`).
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
