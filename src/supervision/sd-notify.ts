/**
 * systemd's service notification protocol (sd_notify(3)) for `Type=notify` units: READY=1 once
 * the listeners are up, WATCHDOG=1 from the event loop while it runs (`WatchdogSec=`), and
 * STOPPING=1 at shutdown. One datagram per message to the AF_UNIX socket in NOTIFY_SOCKET.
 *
 * Node has no Unix datagram sockets, so this uses the optional native package `unix-dgram`
 * (built from source by npm with node-gyp: python3, make and a C++ compiler; nothing prebuilt
 * is downloaded). It is loaded only when NOTIFY_SOCKET is set. Abstract-namespace sockets
 * ("@…") are not supported by that package: systemd's own socket is a path
 * (/run/systemd/notify).
 */
import { createRequire } from 'node:module'
import type { Logger } from 'pino'
import { TtsError } from '../core/errors.js'

/** What systemd told this process through its environment. */
export interface SdNotifyEnvironment {
  /** NOTIFY_SOCKET: where to send. */
  readonly socketPath: string
  /** WATCHDOG_USEC in ms when the watchdog is on for this process (WATCHDOG_PID unset or ours), else undefined. */
  readonly watchdogMs: number | undefined
}

/** Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID as sd_watchdog_enabled(3) does; undefined when not under systemd notify. */
export function sdNotifyEnvironment(env: Readonly<Record<string, string | undefined>>, pid: number): SdNotifyEnvironment | undefined {
  const socketPath = env['NOTIFY_SOCKET']
  if (socketPath === undefined || socketPath === '') return undefined
  const usec = Number(env['WATCHDOG_USEC'])
  const watchdogPid = env['WATCHDOG_PID']
  const ours = watchdogPid === undefined || watchdogPid === '' || Number(watchdogPid) === pid
  return { socketPath, watchdogMs: Number.isFinite(usec) && usec > 0 && ours ? usec / 1000 : undefined }
}

/** Sends sd_notify state lines. Never throws after opening: a lost datagram is logged. */
export interface SdNotifier {
  notify(state: string): void
  close(): void
}

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error) => void): void
  on(event: 'error', listener: (err: Error) => void): void
  close(): void
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): UnixDgramSocket
}

/** Loads `unix-dgram` (the default) or what a test passes; throws TTS_ERR_CONFIG naming the fix when it cannot. */
export function openSdNotifier(
  target: SdNotifyEnvironment,
  logger: Logger,
  load: () => UnixDgramModule = () => createRequire(import.meta.url)('unix-dgram') as UnixDgramModule,
): SdNotifier {
  if (target.socketPath.startsWith('@')) {
    throw new TtsError('TTS_ERR_CONFIG', {
      args: [`NOTIFY_SOCKET=${target.socketPath} is an abstract socket, which sd_notify here cannot reach; use a path (systemd's default /run/systemd/notify)`],
    })
  }
  let dgram: UnixDgramModule
  try {
    dgram = load()
  } catch (cause) {
    throw new TtsError('TTS_ERR_CONFIG', {
      cause,
      args: [
        'NOTIFY_SOCKET is set (a systemd Type=notify unit) but the optional package unix-dgram is not built: install python3, make and g++, then `npm rebuild unix-dgram` (or use Type=simple without WatchdogSec)',
      ],
    })
  }
  const log = logger.child({ component: 'sd-notify' })
  const socket = dgram.createSocket('unix_dgram')
  socket.on('error', (err) => log.warn({ err }, 'sd_notify socket error'))
  return {
    notify: (state) => {
      const message = Buffer.from(state, 'utf8')
      socket.send(message, 0, message.length, target.socketPath, (err) => {
        if (err !== undefined && err !== null) log.warn({ err, state }, 'sd_notify message not sent')
      })
    },
    close: () => socket.close(),
  }
}
