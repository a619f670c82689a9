/**
 * `tts-cache serve --supervise`: a small parent that runs `serve` as its child and keeps a
 * frozen or blocked child from holding callers in silence, for runs without systemd (Docker,
 * compose, a plain shell). The child beats over the IPC channel from its event loop
 * (./liveness.ts); when no beat arrives for `watchdogMs` (SIGSTOP, a blocked loop, a stuck
 * process the in-process watchdog cannot see), the parent SIGKILLs it (a stopped process acts
 * on SIGKILL only), the kernel closes its sockets (FreeSWITCH's socket() fails over at once),
 * and a new child starts. A child that exits by itself is restarted too, with a back-off while
 * it keeps failing before it was ever ready for a while.
 *
 * The parent imports no part of the service: its own event loop only spawns, counts beats and
 * forwards SIGTERM/SIGINT (the child drains; a second signal SIGKILLs it).
 */
import type { ChildProcess } from 'node:child_process'
import type { Logger } from 'pino'
import { isSupervisedMessage } from './supervisor-protocol.js'

export interface SupervisorOptions {
  readonly logger: Logger
  /** No beat from a ready child for this long (ms): SIGKILL and restart. 0: restart on exit only. */
  readonly watchdogMs: number
  /** No `ready` this long after a start (ms): SIGKILL and restart. */
  readonly startTimeoutMs: number
  /** Longest wait before restarting a child that keeps exiting (ms). */
  readonly maxRestartDelayMs: number
  /** Starts one child `serve` with an IPC channel. */
  readonly spawnChild: () => ChildProcess
}

export interface RunningSupervisor {
  /** Settles with the exit code for the supervisor once it was asked to stop and the child is gone. */
  readonly done: Promise<number>
  /** The current child's pid (undefined between a death and its restart). */
  childPid(): number | undefined
  /** SIGTERM/SIGINT: forward to the child and exit with it; a second call SIGKILLs it. */
  stop(signal: NodeJS.Signals): void
}

/** A child that was ready this long counts as healthy: its next failure restarts it at once. */
const HEALTHY_AFTER_MS = 10_000
/** Exit code of a command-line error: restarting cannot help. */
const EXIT_USAGE = 2

export function startSupervisor(options: SupervisorOptions): RunningSupervisor {
  const supervisor = new Supervisor(options)
  return { done: supervisor.done, childPid: () => supervisor.childPid(), stop: (signal) => supervisor.stop(signal) }
}

/** One supervisor's state: the current child, its start, readiness and last beat, the restart back-off. */
class Supervisor {
  readonly done: Promise<number>
  readonly #options: SupervisorOptions
  readonly #log: Logger
  readonly #checkMs: number
  readonly #check: NodeJS.Timeout
  #child: ChildProcess | undefined
  #startedAt = 0
  #readyAt: number | undefined
  #lastBeatAt = 0
  #lastCheckAt = performance.now()
  #failures = 0
  #stopping = false
  #restartTimer: NodeJS.Timeout | undefined
  #resolveDone!: (code: number) => void

  constructor(options: SupervisorOptions) {
    this.#options = options
    this.#log = options.logger.child({ component: 'supervisor' })
    this.#checkMs = Math.max(10, Math.min(100, Math.floor((options.watchdogMs || 1000) / 5)))
    this.done = new Promise<number>((resolve) => (this.#resolveDone = resolve))
    this.#check = setInterval(() => this.#checkBeats(), this.#checkMs)
    this.#start()
  }

  childPid(): number | undefined {
    return this.#child?.pid
  }

  stop(signal: NodeJS.Signals): void {
    if (this.#stopping) {
      this.#log.warn({ signal }, 'second signal: killing serve')
      this.#child?.kill('SIGKILL')
      return
    }
    this.#stopping = true
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer)
    if (this.#child === undefined) {
      this.#finish(0)
      return
    }
    this.#log.info({ signal, childPid: this.#child.pid }, 'stopping serve')
    this.#child.kill(signal)
  }

  #start(): void {
    this.#restartTimer = undefined
    const c = this.#options.spawnChild()
    this.#child = c
    this.#startedAt = performance.now()
    this.#lastBeatAt = this.#startedAt
    this.#readyAt = undefined
    this.#log.info({ childPid: c.pid }, 'serve started')
    c.on('message', (message: unknown) => this.#onMessage(c, message))
    // The IPC channel breaking is not an exit; only 'exit' decides.
    c.on('error', (err) => this.#log.error({ err, childPid: c.pid }, 'serve child error'))
    c.once('exit', (code, signal) => this.#onExit(c, code, signal))
  }

  #onMessage(c: ChildProcess, message: unknown): void {
    if (c !== this.#child || !isSupervisedMessage(message)) return
    this.#lastBeatAt = performance.now()
    if (message.ttsCache === 'ready' && this.#readyAt === undefined) {
      this.#readyAt = this.#lastBeatAt
      this.#log.info({ childPid: c.pid, startMs: Math.round(this.#readyAt - this.#startedAt) }, 'serve ready')
    }
  }

  #onExit(c: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (c !== this.#child) return
    this.#child = undefined
    const wasHealthy = this.#readyAt !== undefined && performance.now() - this.#readyAt >= HEALTHY_AFTER_MS
    if (this.#stopping) {
      this.#log.info({ childPid: c.pid, code, signal }, 'serve stopped')
      this.#finish(code ?? 1)
      return
    }
    if (code === EXIT_USAGE) {
      this.#log.error({ childPid: c.pid, code }, 'serve exited with a usage error: not restarting')
      this.#finish(code)
      return
    }
    this.#failures = wasHealthy ? 0 : this.#failures + 1
    const delayMs = this.#failures <= 1 ? 0 : Math.min(this.#options.maxRestartDelayMs, 100 * 2 ** (this.#failures - 2))
    this.#log.error({ childPid: c.pid, code, signal, restartInMs: delayMs }, 'serve exited: starting another')
    this.#restartTimer = setTimeout(() => this.#start(), delayMs)
  }

  /** Every `checkMs`: a child silent past its limit (start timeout, then the watchdog) is SIGKILLed. */
  #checkBeats(): void {
    const now = performance.now()
    // This process itself did not run for a while (stopped, starved): give the child a fresh window.
    if (now - this.#lastCheckAt > Math.max(250, this.#checkMs * 3)) this.#lastBeatAt = Math.max(this.#lastBeatAt, now)
    this.#lastCheckAt = now
    const c = this.#child
    if (c === undefined || this.#stopping || c.pid === undefined) return
    const ready = this.#readyAt !== undefined
    const limitMs = ready ? this.#options.watchdogMs : this.#options.startTimeoutMs
    if (limitMs <= 0) return
    const silentMs = now - this.#lastBeatAt
    if (silentMs < limitMs) return
    this.#log.error(
      { childPid: c.pid, silentMs: Math.round(silentMs), limitMs, ready },
      ready ? 'no heartbeat from serve (frozen or blocked): killing it (SIGKILL) and starting another' : 'serve not ready in time: killing it (SIGKILL) and starting another',
    )
    this.#lastBeatAt = now // one kill per silence: the restart comes from 'exit'
    c.kill('SIGKILL')
  }

  #finish(code: number): void {
    clearInterval(this.#check)
    this.#resolveDone(code)
  }
}
