/**
 * Proof of life from the event loop, for everything that watches it: one timer on the main
 * thread beats, and each beat
 *  - bumps the counter the in-process watchdog thread watches (./watchdog-thread.ts: a loop
 *    blocked for `watchdogMs` gets the process SIGKILLed, so FreeSWITCH fails over at once),
 *  - tells a `serve --supervise` parent it is alive (./supervisor.ts: it SIGKILLs and restarts
 *    a child that stops beating, SIGSTOP included),
 *  - sends WATCHDOG=1 to systemd when the unit has WatchdogSec= (Type=notify; systemd kills a
 *    process that stops sending, SIGSTOP included, with WatchdogSignal=SIGKILL).
 * A blocked or stopped loop sends nothing, which is the point: nothing here runs off the loop
 * but the watchdog thread, and that thread only ever kills.
 */
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { SdNotifier } from './sd-notify.js'
import { beatIntervalMs, type SupervisedMessage } from './supervisor-protocol.js'
import type { WatchdogThreadData } from './watchdog-thread.js'

const EXT = path.extname(fileURLToPath(import.meta.url))
const THREAD_PATH = fileURLToPath(new URL(`./watchdog-thread${EXT}`, import.meta.url))

export interface LivenessOptions {
  readonly logger: Logger
  /** In-process watchdog bound (ms); 0: no watchdog thread. Also the beat rate a supervisor expects. */
  readonly watchdogMs: number
  /** The IPC channel to a `serve --supervise` parent (process.send), when there is one. */
  readonly supervisor?: ((message: SupervisedMessage) => void) | undefined
  /** systemd notify, and its watchdog interval (WATCHDOG_USEC in ms) when WatchdogSec= is set. */
  readonly systemd?: { readonly notifier: SdNotifier; readonly watchdogMs: number | undefined } | undefined
}

export interface Liveness {
  /** The listeners are up: READY=1 to systemd, `ready` to the supervisor. */
  ready(): void
  /** Shutdown began: STOPPING=1 to systemd (the beats go on while in-flight work drains). */
  stopping(): void
  /** Stop beating and watching (after the drain, just before the process exits). */
  close(): Promise<void>
}

export function startLiveness(options: LivenessOptions): Liveness {
  const log = options.logger.child({ component: 'watchdog' })
  const systemdWatchdogMs = options.systemd?.watchdogMs
  const intervals: number[] = []
  if (options.watchdogMs > 0) intervals.push(beatIntervalMs(options.watchdogMs))
  // systemd's advice: notify at half the interval; a quarter leaves room for a slow tick.
  if (systemdWatchdogMs !== undefined) intervals.push(Math.max(20, Math.floor(systemdWatchdogMs / 4)))
  const beatMs = intervals.length > 0 ? Math.min(...intervals) : undefined

  let thread: Worker | undefined
  let counter: Int32Array | undefined
  if (options.watchdogMs > 0 && beatMs !== undefined) {
    const beats = new SharedArrayBuffer(4)
    counter = new Int32Array(beats)
    const workerData: WatchdogThreadData = { beats, watchdogMs: options.watchdogMs, pollMs: Math.max(10, Math.floor(beatMs / 3)) }
    thread = new Worker(THREAD_PATH, { workerData, name: 'tts-cache watchdog', stdout: false, stderr: false })
    thread.unref()
    thread.on('error', (err) => log.error({ err }, 'watchdog thread failed: the event loop is not watched'))
  }

  let lastSystemdPingAt = 0
  const beat = (): void => {
    if (counter !== undefined) Atomics.add(counter, 0, 1)
    options.supervisor?.({ ttsCache: 'heartbeat' })
    if (options.systemd !== undefined && systemdWatchdogMs !== undefined) {
      const now = performance.now()
      if (now - lastSystemdPingAt >= systemdWatchdogMs / 4 - 1) {
        lastSystemdPingAt = now
        options.systemd.notifier.notify('WATCHDOG=1')
      }
    }
  }
  const timer = beatMs === undefined ? undefined : setInterval(beat, beatMs)
  timer?.unref()
  log.debug({ watchdogMs: options.watchdogMs, beatMs, systemdWatchdogMs, supervised: options.supervisor !== undefined }, 'liveness started')

  return {
    ready: () => {
      beat()
      options.systemd?.notifier.notify('READY=1')
      options.supervisor?.({ ttsCache: 'ready' })
    },
    stopping: () => options.systemd?.notifier.notify('STOPPING=1'),
    close: async () => {
      if (timer !== undefined) clearInterval(timer)
      if (thread !== undefined) {
        thread.postMessage('stop')
        await thread.terminate()
      }
      options.systemd?.notifier.close()
    },
  }
}
