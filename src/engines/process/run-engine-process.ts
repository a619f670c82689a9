import type { ChildProcess } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { TtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import { abortError } from '../../core/single-flight.js'
import { ByteTail } from './byte-tail.js'
import { ENGINE_DEFAULTS } from '../engine-defaults.js'
import { signalProcessGroup, waitForProcessGroupExit } from './process-group.js'
import { resultOf, type EngineProcessResult, type KillReason } from './process-outcome.js'
import { spawnChild } from './spawn-child.js'
import { currentEngineEnvironment } from './engine-environment.js'

export interface RunEngineProcessOptions {
  /** Names the program in errors and logs (`espeak-ng`, `sox`). */
  readonly label: string
  /** Written to stdin, which is then closed. Absent: stdin is /dev/null. */
  readonly input?: string | undefined
  readonly timeoutMs: number
  /** Between SIGTERM and SIGKILL of the process group on timeout or abort. */
  readonly killGraceMs: number
  readonly signal?: AbortSignal | undefined
  /** Extra environment (merged over the service's). */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Keep stdout (probes such as `--version`); renders discard it. */
  readonly captureStdout?: boolean | undefined
  /**
   * stdout is a pipe the caller reads (`EngineProcess.stdout`): an engine writing its WAV into
   * sox. The caller must consume it to the end, or the process blocks until its timeout.
   */
  readonly streamStdout?: boolean | undefined
  /** stdin is a pipe the caller writes and ends (`EngineProcess.stdin`): sox reading `-`. Not with `input`. */
  readonly streamStdin?: boolean | undefined
  /** Exit codes that count as success (default only 0): `flite --version` exits 1. */
  readonly successExitCodes?: readonly number[] | undefined
  readonly logger?: Logger | undefined
}

export type { EngineProcessResult }

/** A started process (see `startEngineProcess`). */
export interface EngineProcess {
  /** Settles as `runEngineProcess` does: once the whole process group is gone. */
  readonly done: Promise<EngineProcessResult>
  /** With `streamStdout`: the process's stdout. */
  readonly stdout: Readable | undefined
  /** With `streamStdin`: the process's stdin. */
  readonly stdin: Writable | undefined
}


/**
 * Runs one engine (or sox) process: argv array, never a shell; the text on stdin; a timeout and
 * the caller's signal both kill the WHOLE process tree (the child is spawned detached, so it
 * leads its own process group: SIGTERM to the group, SIGKILL after `killGraceMs`). When the
 * process exits, the rest of its group is killed at once: a child that inherited stdout/stderr
 * cannot hold a finished run open until its timeout. Settles only once the group is gone, so no
 * engine outlives its render. Failures are typed TtsErrors:
 * TTS_ERR_RENDER_TIMEOUT, TTS_ERR_ABORTED (or the signal's own TtsError reason),
 * TTS_ERR_ENGINE_UNAVAILABLE (binary missing or not executable) and TTS_ERR_RENDER_FAILED;
 * each keeps the last ~2 KB of stderr in `details.stderrTail`.
 */
export async function runEngineProcess(
  file: string,
  args: readonly string[],
  options: RunEngineProcessOptions,
): Promise<EngineProcessResult> {
  return startEngineProcess(file, args, options).done
}

/**
 * `runEngineProcess` for processes whose stdin or stdout the caller streams (two processes
 * joined by a pipe). Starts the process at once and returns; `done` carries the outcome, with
 * the same guarantees. Throws (synchronously) only when `signal` is already aborted: nothing
 * is started then.
 */
export function startEngineProcess(
  file: string,
  args: readonly string[],
  options: RunEngineProcessOptions & { readonly streamStdout: true },
): EngineProcess & { readonly stdout: Readable }
export function startEngineProcess(
  file: string,
  args: readonly string[],
  options: RunEngineProcessOptions & { readonly streamStdin: true },
): EngineProcess & { readonly stdin: Writable }
export function startEngineProcess(file: string, args: readonly string[], options: RunEngineProcessOptions): EngineProcess
export function startEngineProcess(file: string, args: readonly string[], options: RunEngineProcessOptions): EngineProcess {
  const { signal } = options
  assertCanStart(options)
  const stderr = new ByteTail(ENGINE_DEFAULTS.stderrTailBytes)
  const termination = new GroupTermination(options.killGraceMs)
  const { child: subprocess, outcome } = spawnChild(file, args, {
    stdin: options.input !== undefined || options.streamStdin === true ? 'pipe' : 'ignore',
    stdout: options.captureStdout === true || options.streamStdout === true ? 'pipe' : 'ignore',
    captureStdout: options.captureStdout === true,
    maxStdoutBytes: ENGINE_DEFAULTS.probeStdoutMaxBytes,
    // Engines are third-party programs: they get the service's environment minus its secrets.
    env: options.env === undefined ? currentEngineEnvironment() : { ...currentEngineEnvironment(), ...options.env },
    onStderr: (chunk) => stderr.push(chunk),
    // Called from a stdout event, so never before the group is attached below.
    onMaxStdout: () => termination.terminate('maxBuffer'),
  })
  const pid = subprocess.pid
  termination.attach(pid)
  writeInput(subprocess, options)
  const timer = setTimeout(() => termination.terminate('timeout'), options.timeoutMs)
  const onAbort = (): void => termination.terminate('abort')
  signal?.addEventListener('abort', onAbort, { once: true })
  const pipes = killGroupOnExit(subprocess, options, () => clearTimeout(timer))

  const settle = async (): Promise<EngineProcessResult> => {
    const ended = await outcome
    clearTimeout(timer)
    termination.clear()
    pipes.clear()
    signal?.removeEventListener('abort', onAbort)
    await reapGroup(pid, options)
    return resultOf({ file, args, options, ended, killedFor: termination.reason, stderrTail: stderr.text() })
  }
  return {
    done: settle(),
    stdout: options.streamStdout === true ? (subprocess.stdout ?? undefined) : undefined,
    stdin: options.streamStdin === true ? (subprocess.stdin ?? undefined) : undefined,
  }
}

/** Throws (nothing started) when the signal is already aborted or stdin is asked for twice. */
function assertCanStart(options: RunEngineProcessOptions): void {
  if (options.signal?.aborted === true) throw abortError(options.signal)
  if (options.streamStdin === true && options.input !== undefined) {
    throw new TtsError('TTS_ERR_INTERNAL', { args: [`${options.label}: stdin cannot be both streamed and given as input`] })
  }
}

/** Kills a process group once, for one reason: SIGTERM, then SIGKILL after `killGraceMs`. */
class GroupTermination {
  readonly #killGraceMs: number
  #pid: number | undefined
  #graceTimer: NodeJS.Timeout | undefined
  /** Why the group was killed; undefined while it was not. */
  reason: KillReason | undefined

  constructor(killGraceMs: number) {
    this.#killGraceMs = killGraceMs
  }

  attach(pid: number | undefined): void {
    this.#pid = pid
  }

  terminate(why: KillReason): void {
    const pid = this.#pid
    if (this.reason !== undefined || pid === undefined) return
    this.reason = why
    signalProcessGroup(pid, 'SIGTERM')
    this.#graceTimer = setTimeout(() => signalProcessGroup(pid, 'SIGKILL'), this.#killGraceMs)
  }

  clear(): void {
    clearTimeout(this.#graceTimer)
  }
}

/** Writes `input` to stdin and closes it. */
function writeInput(subprocess: ChildProcess, options: RunEngineProcessOptions): void {
  if (options.input === undefined || subprocess.stdin === null) return
  // Written now: a pipe takes a text this short at once, so the engine starts while the
  // caller goes on (forking sox takes milliseconds).
  subprocess.stdin.on('error', (err: Error) => {
    // EPIPE: the process exited without reading it all; its exit status tells the story.
    options.logger?.debug({ err, engine: options.label }, 'engine did not read all of its stdin')
  })
  subprocess.stdin.end(options.input)
}

/**
 * The process ended: its work is done (or failed) and its timeout no longer applies (`onExit`). A
 * child it left behind may still hold its stdout/stderr (a helper daemon, a stray grandchild):
 * waiting for those pipes to close would turn a finished render into a timeout (issue 17). So
 * the rest of the group is killed now, and pipes still open a moment later (held by a process
 * that left the group) are closed from our side. `clear` cancels that later check.
 */
function killGroupOnExit(subprocess: ChildProcess, options: RunEngineProcessOptions, onExit: () => void): { clear(): void } {
  let pipesTimer: NodeJS.Timeout | undefined
  subprocess.once('exit', () => {
    onExit()
    const pid = subprocess.pid
    if (pid === undefined) return
    signalProcessGroup(pid, 'SIGKILL')
    pipesTimer = setTimeout(() => {
      const open = [subprocess.stdin, subprocess.stdout, subprocess.stderr].filter((s) => s !== null && !s.destroyed)
      if (open.length === 0) return
      options.logger?.warn({ engine: options.label, pgid: pid }, 'engine exited but a process outside its group holds its pipes: closing them')
      for (const stream of open) stream?.destroy()
    }, ENGINE_DEFAULTS.pipesCloseAfterExitMs)
  })
  return { clear: () => clearTimeout(pipesTimer) }
}

/**
 * Whatever the leader left behind (a grandchild that ignored SIGTERM, or one that daemonised and
 * closed its pipes) dies now (again: the exit handler did it once); then waits until the group
 * is really gone.
 */
async function reapGroup(pid: number | undefined, options: RunEngineProcessOptions): Promise<void> {
  if (pid === undefined) return
  // false: nobody left to signal (the usual end), which is all the wait below would find out first.
  if (!signalProcessGroup(pid, 'SIGKILL')) return
  const gone = await waitForProcessGroupExit(pid, ENGINE_DEFAULTS.groupExitWaitMs, ENGINE_DEFAULTS.groupExitPollMs)
  if (!gone) options.logger?.warn({ engine: options.label, pgid: pid }, 'engine process group still present after SIGKILL')
}
