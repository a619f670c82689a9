/**
 * The in-process watchdog's thread, started by `startLiveness` (./liveness.ts). The main
 * thread's event loop bumps a shared counter every beat; when the counter has not moved for
 * `watchdogMs` while this thread kept running, the event loop is blocked (a busy loop, a
 * synchronous call that never returns): this thread writes one log line and SIGKILLs the
 * process. The kernel then closes the listening and call sockets, so FreeSWITCH's socket()
 * fails over to the fallback at once instead of waiting out its own 25 s connect timeout, and a
 * supervisor (systemd `Restart=always`, `serve --supervise`) starts a fresh process.
 *
 * Time the main thread spent waiting for a CPU (a loaded machine) is not charged to the loop,
 * up to a bound (./watchdog-clock.ts). A whole process that stops (SIGSTOP, a frozen VM) stops
 * this thread too: it cannot act then (systemd's WatchdogSec or `--supervise` can). When this
 * thread itself has not run for a while, it starts the window again instead of blaming the
 * event loop for the machine's stall.
 *
 * Only `node:` imports and its sibling ./watchdog-clock (loaded by the extension of this very
 * file): the thread runs from the .ts sources in tests as from dist/.
 */
import { readFileSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parentPort, workerData } from 'node:worker_threads'

export interface WatchdogThreadData {
  /** Int32Array(1) over it: the main thread's beat counter. */
  readonly beats: SharedArrayBuffer
  /** Kill when the counter has not moved for this long (ms) of time the main thread was not waiting for a CPU. */
  readonly watchdogMs: number
  /** How often this thread looks (ms). */
  readonly pollMs: number
}

/** A loop starved of CPU is still killed past this many watchdogMs without a beat. */
const STARVED_CAP_FACTOR = 4

// Its sibling module, from the .ts sources (tests) as from dist/: the same extension as this file.
const EXT = path.extname(fileURLToPath(import.meta.url))
const { WatchdogClock } = (await import(`./watchdog-clock${EXT}`)) as typeof import('./watchdog-clock.js')

const data = workerData as WatchdogThreadData
const counter = new Int32Array(data.beats)
/** The main thread's scheduler statistics (its thread id is the process id). */
const SCHEDSTAT = `/proc/${process.pid}/task/${process.pid}/schedstat`

/** The main thread's total run-queue wait (ms): schedstat's second field (ns); undefined when unreadable. */
function cpuWaitMs(): number | undefined {
  try {
    const waitedNs = Number(readFileSync(SCHEDSTAT, 'latin1').split(' ')[1])
    return Number.isFinite(waitedNs) ? waitedNs / 1e6 : undefined
  } catch {
    return undefined
  }
}

const read = () => ({ now: performance.now(), beats: Atomics.load(counter, 0), cpuWaitMs: cpuWaitMs() })
const clock = new WatchdogClock({ watchdogMs: data.watchdogMs, pollMs: data.pollMs, starvedCapFactor: STARVED_CAP_FACTOR }, read())

function killProcess(blockedMs: number, waitedMs: number): void {
  const line = {
    level: 60,
    time: Date.now(),
    pid: process.pid,
    hostname: hostname(),
    component: 'watchdog',
    blockedMs: Math.round(blockedMs),
    cpuWaitMs: Math.round(waitedMs),
    watchdogMs: data.watchdogMs,
    msg: 'event loop blocked: killing the process (SIGKILL) so that calls fail over to the fallback at once',
  }
  try {
    writeSync(1, `${JSON.stringify(line)}\n`)
  } finally {
    process.kill(process.pid, 'SIGKILL')
  }
}

const timer = setInterval(() => {
  const verdict = clock.observe(read())
  if (verdict.kill) killProcess(verdict.blockedMs, verdict.cpuWaitMs)
}, data.pollMs)

parentPort?.once('message', () => {
  clearInterval(timer)
  parentPort?.close()
})
