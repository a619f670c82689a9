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
  const log = options.logger.child({ component: 'supervisor' })
  const checkMs = Math.max(10, Math.min(100, Math.floor((options.watchdogMs || 1000) / 5)))
  let child: ChildProcess | undefined
  let startedAt = 0
  let readyAt: number | undefined
  let lastBeatAt = 0
  let lastCheckAt = performance.now()
  let failures = 0
  let stopping = false
  let restartTimer: NodeJS.Timeout | undefined
  let resolveDone!: (code: number) => void
  const done = new Promise<number>((resolve) => (resolveDone = resolve))

  const start = (): void => {
    restartTimer = undefined
    const c = options.spawnChild()
    child = c
    startedAt = performance.now()
    lastBeatAt = startedAt
    readyAt = undefined
    log.info({ childPid: c.pid }, 'serve started')
    c.on('message', (message: unknown) => {
      if (c !== child || !isSupervisedMessage(message)) return
      lastBeatAt = performance.now()
      if (message.ttsCache === 'ready' && readyAt === undefined) {
        readyAt = lastBeatAt
        log.info({ childPid: c.pid, startMs: Math.round(readyAt - startedAt) }, 'serve ready')
      }
    })
    // The IPC channel breaking is not an exit; only 'exit' decides.
    c.on('error', (err) => log.error({ err, childPid: c.pid }, 'serve child error'))
    c.once('exit', (code, signal) => onExit(c, code, signal))
  }

  const onExit = (c: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void => {
    if (c !== child) return
    child = undefined
    const wasHealthy = readyAt !== undefined && performance.now() - readyAt >= HEALTHY_AFTER_MS
    if (stopping) {
      log.info({ childPid: c.pid, code, signal }, 'serve stopped')
      finish(code ?? 1)
      return
    }
    if (code === EXIT_USAGE) {
      log.error({ childPid: c.pid, code }, 'serve exited with a usage error: not restarting')
      finish(code)
      return
    }
    failures = wasHealthy ? 0 : failures + 1
    const delayMs = failures <= 1 ? 0 : Math.min(options.maxRestartDelayMs, 100 * 2 ** (failures - 2))
    log.error({ childPid: c.pid, code, signal, restartInMs: delayMs }, 'serve exited: starting another')
    restartTimer = setTimeout(start, delayMs)
  }

  const check = setInterval(() => {
    const now = performance.now()
    // This process itself did not run for a while (stopped, starved): give the child a fresh window.
    if (now - lastCheckAt > Math.max(250, checkMs * 3)) lastBeatAt = Math.max(lastBeatAt, now)
    lastCheckAt = now
    const c = child
    if (c === undefined || stopping || c.pid === undefined) return
    const limitMs = readyAt === undefined ? options.startTimeoutMs : options.watchdogMs
    if (limitMs <= 0) return
    const silentMs = now - lastBeatAt
    if (silentMs >= limitMs) {
      log.error(
        { childPid: c.pid, silentMs: Math.round(silentMs), limitMs, ready: readyAt !== undefined },
        readyAt === undefined ? 'serve not ready in time: killing it (SIGKILL) and starting another' : 'no heartbeat from serve (frozen or blocked): killing it (SIGKILL) and starting another',
      )
      lastBeatAt = now // one kill per silence: the restart comes from 'exit'
      c.kill('SIGKILL')
    }
  }, checkMs)

  const finish = (code: number): void => {
    clearInterval(check)
    resolveDone(code)
  }

  start()
  return {
    done,
    childPid: () => child?.pid,
    stop: (signal) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: killing serve')
        child?.kill('SIGKILL')
        return
      }
      stopping = true
      if (restartTimer !== undefined) clearTimeout(restartTimer)
      if (child === undefined) {
        finish(0)
        return
      }
      log.info({ signal, childPid: child.pid }, 'stopping serve')
      child.kill(signal)
    },
  }
}
