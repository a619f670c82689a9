import { spawn, type ChildProcess } from 'node:child_process'

/**
 * node:child_process.spawn with the few things the process runner needs on top: stdout kept up
 * to a byte limit, and one promise for the outcome. It replaced execa here (see the commit
 * "Engines: spawn directly…"): execa cost ~150 ms to import, paid at every start of the service
 * and of its render host, and ~5 ms more CPU per process than a bare spawn, on the hot path of
 * every render (two processes each). Timeouts, aborts and the process-group kill stay in
 * run-engine-process.ts, which never needed execa for them.
 */
export interface SpawnChildOptions {
  readonly stdin: 'pipe' | 'ignore'
  readonly stdout: 'pipe' | 'ignore'
  /** Keep stdout (it must be 'pipe'), at most `maxStdoutBytes`; past that the run fails as `maxBuffer`. */
  readonly captureStdout: boolean
  readonly maxStdoutBytes: number
  /** The whole environment (nothing is merged in). */
  readonly env: Readonly<Record<string, string>>
  /** Called with each stderr chunk (stderr is always a pipe). */
  readonly onStderr: (chunk: Buffer) => void
  /** Called once when captured stdout passes `maxStdoutBytes` (the caller kills the group). */
  readonly onMaxStdout: () => void
}

/** How a child ended, once it exited and its stdio closed. */
export interface ChildOutcome {
  /** Undefined when it was killed by a signal or never started. */
  readonly exitCode: number | undefined
  readonly signal: NodeJS.Signals | undefined
  /** The captured stdout ('' unless `captureStdout`). */
  readonly stdout: string
  readonly maxBuffer: boolean
  /** It could not be started (ENOENT, EACCES…): the spawn error. */
  readonly spawnError: NodeJS.ErrnoException | undefined
}

export interface SpawnedChild {
  readonly child: ChildProcess
  /** Never rejects: every ending is a ChildOutcome. */
  readonly outcome: Promise<ChildOutcome>
}

/**
 * Starts `file` with `args` (no shell) as the leader of its own process group (`detached`:
 * setsid, so pgid === pid and `kill(-pid)` reaches its descendants). The outcome settles on
 * 'close' — the process exited and every pipe of it closed — or on a spawn error.
 */
export function spawnChild(file: string, args: readonly string[], options: SpawnChildOptions): SpawnedChild {
  const child = spawn(file, args, {
    detached: true,
    stdio: [options.stdin, options.stdout, 'pipe'],
    env: options.env,
  })
  const chunks: Buffer[] = []
  let stdoutBytes = 0
  let maxBuffer = false
  if (options.captureStdout && child.stdout !== null) {
    child.stdout.on('data', (chunk: Buffer) => {
      if (maxBuffer) return
      stdoutBytes += chunk.length
      if (stdoutBytes > options.maxStdoutBytes) {
        maxBuffer = true
        options.onMaxStdout()
        return
      }
      chunks.push(chunk)
    })
  }
  child.stderr?.on('data', options.onStderr)
  const outcome = new Promise<ChildOutcome>((resolve) => {
    const stdout = (): string => Buffer.concat(chunks).toString('utf8')
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only a child that never started (ENOENT, EACCES) ends here; 'error' for a failed kill()
      // cannot happen (the runner signals the group with process.kill, not the child object).
      if (child.pid === undefined) resolve({ exitCode: undefined, signal: undefined, stdout: '', maxBuffer: false, spawnError: err })
    })
    child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      resolve({ exitCode: exitCode ?? undefined, signal: signal ?? undefined, stdout: stdout(), maxBuffer, spawnError: undefined })
    })
  })
  return { child, outcome }
}
