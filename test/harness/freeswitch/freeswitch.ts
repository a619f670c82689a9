/**
 * A real FreeSWITCH 1.10.12 for end-to-end tests: `../shared/freeswitch/fs.sh` (see its README)
 * started on a temporary RUNDIR, a control connection on its Event Socket (bgapi originate,
 * events), the real `tts-cache serve` as a child process on free ports that the suite hands to
 * FreeSWITCH through the variables the shipped XML reads (tts_cache_esl_address,
 * tts_cache_http_url), and what a caller heard, read back from a recording of the other call leg.
 *
 * Nothing here believes whoever answers on a port: every listener the suite talks to (the
 * service's two, FreeSWITCH's Event Socket) is checked to belong to the process the suite
 * started, through /proc, and a port that a foreign process holds fails the suite loudly.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { pino } from 'pino'
import { encodeCommand, eventPlainCommand } from '../../../src/esl/codec/command.js'
import { EslConnection } from '../../../src/esl/connection/connection.js'
import { parseEventFrame, type EslEvent } from '../../../src/esl/codec/event.js'
import { systemScheduler } from '../../../src/esl/connection/scheduler.js'
import { ROOT } from '../app/test-app.js'
import { launchInstalledFreeSwitch } from './launch.js'
import { describeSource, locateFreeSwitch, type FreeSwitchSource } from './locate.js'

const run = promisify(execFile)

/** The FreeSWITCH this run uses, and why (locate.ts: FREESWITCH_TEST_DIR, ../shared, PATH). */
export const FREESWITCH: FreeSwitchSource = locateFreeSwitch({ env: process.env, root: ROOT })
export const freeswitchAvailable = FREESWITCH.kind !== 'none'
export { describeSource }

/** A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address !== 'object') throw new Error('no port from the kernel')
  return address.port
}

/** Inodes of the TCP sockets LISTENing on `port` (any address), from /proc/net/tcp and tcp6. */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // f[1] local address "HEXIP:HEXPORT", f[3] state (0A = LISTEN), f[9] inode
      if (f.length > 9 && f[3] === '0A' && Number.parseInt(f[1]!.split(':')[1] ?? '', 16) === port) inodes.add(f[9]!)
    }
  }
  return inodes
}

/** The pids holding a socket that LISTENs on `port` (every process of this machine we may read). */
export async function listenerPids(port: number): Promise<number[]> {
  const inodes = await listeningInodes(port)
  if (inodes.size === 0) return []
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[])
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '')
      const m = /^socket:\[(\d+)\]$/.exec(target)
      if (m !== null && inodes.has(m[1]!)) {
        pids.push(Number(entry))
        break
      }
    }
  }
  return pids
}

async function describePid(pid: number): Promise<string> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  return `pid ${pid} (${cmdline.split('\0').join(' ').trim().slice(0, 160) || 'unknown'})`
}

/** True when 127.0.0.1:port accepts a connection. */
export function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * Throws, naming the process, when anything listens on or answers at `port`: the suite is about
 * to start its own listener there and must never talk to a stranger.
 */
export async function assertPortUnused(port: number, what: string): Promise<void> {
  const pids = await listenerPids(port)
  if (pids.length > 0 || (await answers(port))) {
    const who = pids.length > 0 ? (await Promise.all(pids.map(describePid))).join(', ') : 'a process this user cannot see'
    throw new Error(`test/freeswitch: a foreign process answers on 127.0.0.1:${port} (${what}): ${who}. Refusing to run against it.`)
  }
}

/** The parent pid of `pid` (0 when it is gone). */
async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? 0)
}

/**
 * Throws unless every listener on `port` is `pid` or one of its descendants (a supervised
 * service listens in its child): the suite talks only to what it started.
 */
export async function assertListenerIs(port: number, pid: number, what: string): Promise<number> {
  const pids = await listenerPids(port)
  if (pids.length === 0) throw new Error(`test/freeswitch: nothing listens on 127.0.0.1:${port} (${what})`)
  for (const listener of pids) {
    let p = listener
    while (p > 1 && p !== pid) p = await parentOf(p)
    if (p !== pid) {
      throw new Error(`test/freeswitch: 127.0.0.1:${port} (${what}) is held by ${await describePid(listener)}, not by the process the suite started (pid ${pid})`)
    }
  }
  return pids[0]!
}

export interface RunningFreeSwitch {
  readonly rundir: string
  readonly pid: number
  readonly eslPort: number
  readonly password: string
  /** RUNDIR/log/freeswitch.log as it is now. */
  log(): Promise<string>
  stop(): Promise<void>
}

/**
 * A running FreeSWITCH with the project's files included from their own directories (unchanged):
 * `fs.sh start` for the shared build, launch.ts for an installed binary.
 */
export async function startFreeSwitch(options: { dialplanDir: string; phrasesDir: string }): Promise<RunningFreeSwitch> {
  if (FREESWITCH.kind === 'none') throw new Error(describeSource(FREESWITCH))
  if (FREESWITCH.kind === 'installed') return startInstalled(FREESWITCH, options)
  const script = FREESWITCH.script
  const rundir = await mkdtemp(join(tmpdir(), 'tts-fs-'))
  const { stdout } = await run(script, ['start', rundir, '--dialplan-dir', options.dialplanDir, '--phrases-dir', options.phrasesDir, '--loglevel', 'debug'], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  const env = new Map(
    stdout
      .trim()
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
  )
  const pid = Number(env.get('FS_PID'))
  const eslPort = Number(env.get('FS_ESL_PORT'))
  await assertListenerIs(eslPort, pid, "FreeSWITCH's Event Socket")
  return {
    rundir,
    pid,
    eslPort,
    password: env.get('FS_ESL_PASSWORD') ?? 'ClueCon',
    log: () => readFile(join(rundir, 'log/freeswitch.log'), 'utf8'),
    stop: async () => {
      await run(script, ['stop', rundir, '--now'], { timeout: 30_000 })
      await rm(rundir, { recursive: true, force: true })
    },
  }
}

/** True when FreeSWITCH on `port` logs us in and `api status` says "is ready". */
async function reportsReady(port: number, password: string): Promise<boolean> {
  if (!(await answers(port))) return false
  const control = await FreeSwitchControl.connect(port, password)
  try {
    return (await control.api('status')).includes('is ready')
  } finally {
    control.close()
  }
}

/** An installed FreeSWITCH binary (packages, a prefix) started on a free port by launch.ts. */
export async function startInstalled(
  source: { readonly binary: string; readonly modDir: string },
  options: { dialplanDir?: string; phrasesDir?: string },
): Promise<RunningFreeSwitch> {
  const eslPort = await freePort()
  await assertPortUnused(eslPort, "FreeSWITCH's Event Socket")
  const launched = await launchInstalledFreeSwitch({ ...source, ...options, eslPort, isReady: reportsReady })
  await assertListenerIs(eslPort, launched.pid, "FreeSWITCH's Event Socket")
  return {
    rundir: launched.rundir,
    pid: launched.pid,
    eslPort,
    password: launched.password,
    log: () => readFile(launched.logFile, 'utf8'),
    stop: launched.stop,
  }
}

interface EventWaiter {
  readonly match: (event: EslEvent) => boolean
  readonly resolve: (event: EslEvent) => void
}

/** An inbound Event Socket connection that places calls and records every event it is sent. */
export class FreeSwitchControl {
  readonly events: EslEvent[] = []
  readonly #connection: EslConnection
  #waiters: EventWaiter[] = []

  private constructor(connection: EslConnection) {
    this.#connection = connection
  }

  static async connect(port: number, password: string): Promise<FreeSwitchControl> {
    const socket = connect({ port, host: '127.0.0.1' })
    let control!: FreeSwitchControl
    const banner = new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      const connection = new EslConnection(socket, {
        side: 'inbound',
        scheduler: systemScheduler,
        logger: pino({ level: 'silent' }),
        limits: { maxHeaderBytes: 1024 * 1024, maxBodyBytes: 16 * 1024 * 1024 },
        commandTimeoutMs: 30_000,
        handlers: { authRequest: () => resolve(), event: (frame) => control.#onEvent(frame) },
      })
      control = new FreeSwitchControl(connection)
    })
    await banner
    await control.#command(encodeCommand('auth', `auth ${password}`))
    await control.#command(
      eventPlainCommand(['CHANNEL_ANSWER', 'CHANNEL_HANGUP_COMPLETE', 'PLAYBACK_START', 'PLAYBACK_STOP', 'BACKGROUND_JOB']),
    )
    return control
  }

  /** `api <line>`: the body FreeSWITCH answered with. */
  async api(line: string): Promise<string> {
    const reply = await this.#connection.send(encodeCommand('api', `api ${line}`))
    return reply.bodyText()
  }

  /** `bgapi <line>`: returns at once; the result comes as a BACKGROUND_JOB event. */
  async bgapi(line: string): Promise<void> {
    await this.#command(encodeCommand('bgapi', `bgapi ${line}`))
  }

  waitForEvent(match: (event: EslEvent) => boolean, what: string, timeoutMs = 90_000): Promise<EslEvent> {
    const seen = this.events.find(match)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} event within ${timeoutMs} ms`)), timeoutMs)
      this.#waiters.push({
        match,
        resolve: (event) => {
          clearTimeout(timer)
          resolve(event)
        },
      })
    })
  }

  close(): void {
    this.#connection.destroy()
  }

  async #command(command: ReturnType<typeof encodeCommand>): Promise<void> {
    const reply = await this.#connection.send(command)
    const text = reply.header('Reply-Text') ?? ''
    if (text.startsWith('-')) throw new Error(`${command.name} refused: ${text}`)
  }

  #onEvent(frame: Parameters<typeof parseEventFrame>[0]): void {
    const parsed = parseEventFrame(frame)
    if (!parsed.ok) return
    this.events.push(parsed.event)
    const still: EventWaiter[] = []
    for (const waiter of this.#waiters) {
      if (waiter.match(parsed.event)) waiter.resolve(parsed.event)
      else still.push(waiter)
    }
    this.#waiters = still
  }
}

export interface CallRecord {
  /** The originated leg (the caller: it records what it hears). */
  readonly aUuid: string
  /** The leg that ran the dialplan. */
  readonly bUuid: string
  /** Events of the dialplan leg, in order. */
  readonly events: readonly EslEvent[]
  /** A channel variable of the dialplan leg when it hung up. */
  variable(name: string): string | undefined
  /** PLAYBACK_START file paths and PLAYBACK_STOP statuses of the dialplan leg. */
  readonly played: readonly string[]
  readonly playbackStatuses: readonly string[]
  /** The caller's recording (when asked for). */
  readonly recording: string | undefined
}

/**
 * Places a loopback call to `extension` in context `test` and waits until both legs have hung
 * up. `vars` are set on the originated leg and copied to the dialplan leg (loopback does that);
 * `record` makes the caller's leg record what it hears.
 */
export async function placeCall(
  fs: FreeSwitchControl,
  extension: string,
  options: { vars?: Readonly<Record<string, string>>; record?: string } = {},
): Promise<CallRecord> {
  const aUuid = randomUUID()
  const vars: Record<string, string> = { origination_uuid: aUuid, tts_test_call: aUuid, verbose_events: 'true', ...options.vars }
  // While the dialplan leg sends no audio (waiting in socket()) loopback hands the caller comfort
  // noise frames, which `record` skips unless told to write them as silence: keep the silence.
  if (options.record !== undefined) vars['record_fill_cng'] = 'true'
  for (const [name, value] of Object.entries(vars)) {
    if (/[,{}\s'"]/.test(value)) throw new Error(`originate variable ${name} needs quoting this helper does not do`)
  }
  const dial = `{${Object.entries(vars)
    .map(([n, v]) => `${n}=${v}`)
    .join(',')}}loopback/${extension}/test`
  const app = options.record === undefined ? '&park()' : `&record(${options.record})`
  const ofCall = (e: EslEvent): boolean => e.headers.get('variable_tts_test_call') === aUuid
  const bHangup = fs.waitForEvent((e) => e.name === 'CHANNEL_HANGUP_COMPLETE' && ofCall(e) && e.headers.get('Unique-ID') !== aUuid, `hangup of ${extension}-b`)
  const aHangup = fs.waitForEvent((e) => e.name === 'CHANNEL_HANGUP_COMPLETE' && e.headers.get('Unique-ID') === aUuid, `hangup of ${extension}-a`)
  await fs.bgapi(`originate ${dial} ${app}`)
  const hangup = await bHangup
  await aHangup
  const bUuid = hangup.headers.get('Unique-ID') ?? ''
  const events = fs.events.filter((e) => e.headers.get('Unique-ID') === bUuid)
  return {
    aUuid,
    bUuid,
    events,
    variable: (name) => hangup.headers.get(`variable_${name}`),
    played: events.filter((e) => e.name === 'PLAYBACK_START').map((e) => e.headers.get('Playback-File-Path') ?? ''),
    playbackStatuses: events.filter((e) => e.name === 'PLAYBACK_STOP').map((e) => e.headers.get('Playback-Status') ?? ''),
    recording: options.record,
  }
}

export interface HeardSpeech {
  /** From the start of the recording to the first 20 ms frame with speech in it. */
  readonly onsetMs: number | undefined
  /** 20 ms frames with speech in them, in ms. */
  readonly voicedMs: number
  readonly durationMs: number
}

/** Speech in a 16-bit PCM WAV (FreeSWITCH's record): frames whose RMS is above a quiet floor. */
export async function speechIn(path: string): Promise<HeardSpeech> {
  const wav = await readFile(path)
  let offset = 12
  let rate = 8000
  let channels = 1
  let data: Buffer | undefined
  while (offset + 8 <= wav.length) {
    const id = wav.toString('latin1', offset, offset + 4)
    const size = wav.readUInt32LE(offset + 4)
    if (id === 'fmt ') {
      channels = wav.readUInt16LE(offset + 10)
      rate = wav.readUInt32LE(offset + 12)
    } else if (id === 'data') {
      data = wav.subarray(offset + 8, Math.min(wav.length, offset + 8 + size))
      break
    }
    offset += 8 + size + (size % 2)
  }
  if (data === undefined) throw new Error(`${path}: no data chunk`)
  const samples = Math.floor(data.length / 2 / channels)
  const frame = Math.round(rate / 50)
  let onset: number | undefined
  let voiced = 0
  for (let start = 0; start + frame <= samples; start += frame) {
    let sum = 0
    for (let i = start; i < start + frame; i++) {
      const v = data.readInt16LE(i * 2 * channels)
      sum += v * v
    }
    if (Math.sqrt(sum / frame) > 300) {
      onset ??= (start / rate) * 1000
      voiced += 20
    }
  }
  return { onsetMs: onset, voicedMs: voiced, durationMs: (samples / rate) * 1000 }
}

/** The service's two ports, chosen free by the suite and handed to FreeSWITCH as variables. */
export interface ServicePorts {
  readonly esl: number
  readonly http: number
}

/** Test-only preload (never part of the service): SIGUSR2 blocks the event loop (test/harness/block-loop-hook.mjs). */
export const BLOCK_LOOP_HOOK = join(ROOT, 'test/harness/block-loop-hook.mjs')

export interface RunningService {
  /** What the suite spawned: `serve`, or with `supervise` its supervisor. */
  readonly child: ChildProcess
  readonly ports: ServicePorts
  /** Everything it wrote on stdout and stderr so far (pino JSON lines, the supervisor's too). */
  output(): string
  /** GET/POST against its HTTP API. */
  http(path: string, init?: RequestInit): Promise<Response>
  /** Sum of tts_renders_total (engine runs). */
  renders(): Promise<number>
  /** The pid that holds the ESL listener now (the `serve` process; under `--supervise`, its child). */
  servicePid(): Promise<number>
  /** SIGSTOP / SIGCONT the serving process: it still accepts connections (the kernel does) but runs no code. */
  freeze(): Promise<number>
  thaw(): void
  /** SIGUSR2 to the serving process: with BLOCK_LOOP_HOOK preloaded its event loop blocks for good. */
  blockLoop(): Promise<number>
  /** Waits until a serving process other than `pid` is listening and ready (after a supervisor restart). */
  waitForReplacementOf(pid: number): Promise<number>
  stop(): Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * `tts-cache serve` (the built CLI) on `ports`, which must be free: a foreign listener on either
 * fails loudly here, and once ready both listeners must belong to the spawned process (or, under
 * `supervise`, to its child).
 */
export async function startService(
  ports: ServicePorts,
  env: Record<string, string>,
  options: { supervise?: boolean; blockLoopHook?: boolean } = {},
): Promise<RunningService> {
  await assertPortUnused(ports.esl, 'the ESL port chosen for the service')
  await assertPortUnused(ports.http, 'the HTTP port chosen for the service')
  const args = [
    ...(options.blockLoopHook === true ? ['--import', BLOCK_LOOP_HOOK] : []),
    join(ROOT, 'dist/cli/main.js'),
    'serve',
    ...(options.supervise === true ? ['--supervise'] : []),
  ]
  const child = spawn(process.execPath, args, {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/root',
      TTS_LOG_LEVEL: 'warn',
      TTS_ESL_HOST: '127.0.0.1',
      TTS_ESL_PORT: String(ports.esl),
      TTS_HTTP_HOST: '127.0.0.1',
      TTS_HTTP_PORT: String(ports.http),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const keep = (d: string): void => {
    output = (output + d).slice(-200_000)
  }
  child.stdout?.setEncoding('utf8').on('data', keep)
  child.stderr?.setEncoding('utf8').on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const base = `http://127.0.0.1:${ports.http}`
  const http = (path: string, init?: RequestInit): Promise<Response> => fetch(`${base}${path}`, init)
  const ready = async (what: string, notPid?: number): Promise<number> => {
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`tts-cache serve exited (${child.exitCode ?? child.signalCode}): ${output.slice(-4000)}`)
      try {
        // /readyz: listeners up, and (FS_ESL_HOST set) the inbound connection to FreeSWITCH made.
        const pids = await listenerPids(ports.esl)
        if (pids.length > 0 && !pids.includes(notPid ?? -1) && (await http('/readyz')).ok) break
      } catch {
        // Not listening yet.
      }
      if (attempt > 600) throw new Error(`tts-cache serve was not ${what}: ${output.slice(-4000)}`)
      await sleep(100)
    }
    await assertListenerIs(ports.http, child.pid!, "the service's HTTP port")
    return assertListenerIs(ports.esl, child.pid!, "the service's ESL port")
  }
  await ready('ready')
  const servicePid = async (): Promise<number> => assertListenerIs(ports.esl, child.pid!, "the service's ESL port")
  let frozen: number | undefined
  return {
    child,
    ports,
    output: () => output,
    http,
    renders: async () => {
      const text = await (await http('/metrics')).text()
      let sum = 0
      for (const m of text.matchAll(/^tts_renders_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1])
      return sum
    },
    servicePid,
    freeze: async () => {
      frozen = await servicePid()
      process.kill(frozen, 'SIGSTOP')
      return frozen
    },
    thaw: () => {
      if (frozen !== undefined) {
        try {
          process.kill(frozen, 'SIGCONT')
        } catch {
          // Already gone (killed by its supervisor).
        }
      }
      frozen = undefined
    },
    blockLoop: async () => {
      const pid = await servicePid()
      process.kill(pid, 'SIGUSR2')
      return pid
    },
    waitForReplacementOf: (pid) => ready('restarted', pid),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        if (frozen !== undefined) process.kill(frozen, 'SIGCONT')
        child.kill('SIGCONT')
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        await exited
        clearTimeout(timer)
      }
    },
  }
}
