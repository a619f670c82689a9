/**
 * A real FreeSWITCH 1.10.12 for end-to-end tests: `../shared/freeswitch/fs.sh` (see its README)
 * started on a temporary RUNDIR, a control connection on its Event Socket (bgapi originate,
 * events), the real `tts-cache serve` as a child process on the ports the shipped XML names,
 * and what a caller heard, read back from a recording of the other call leg.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { pino } from 'pino'
import { encodeCommand, eventPlainCommand } from '../../src/esl/command.js'
import { EslConnection } from '../../src/esl/connection.js'
import { parseEventFrame, type EslEvent } from '../../src/esl/event.js'
import { systemScheduler } from '../../src/esl/scheduler.js'
import { ROOT } from './app.js'

const run = promisify(execFile)

/** Where the shared FreeSWITCH lives (FREESWITCH_TEST_DIR overrides). */
export const FREESWITCH_DIR = process.env['FREESWITCH_TEST_DIR'] ?? join(ROOT, '../shared/freeswitch')
const FS_SH = join(FREESWITCH_DIR, 'fs.sh')
export const freeswitchAvailable = existsSync(FS_SH)

export interface RunningFreeSwitch {
  readonly rundir: string
  readonly eslPort: number
  readonly password: string
  /** RUNDIR/log/freeswitch.log as it is now. */
  log(): Promise<string>
  stop(): Promise<void>
}

/** `fs.sh start` with the project's files included from their own directories (unchanged). */
export async function startFreeSwitch(options: { dialplanDir: string; phrasesDir: string }): Promise<RunningFreeSwitch> {
  const rundir = await mkdtemp(join(tmpdir(), 'tts-fs-'))
  const { stdout } = await run(FS_SH, ['start', rundir, '--dialplan-dir', options.dialplanDir, '--phrases-dir', options.phrasesDir, '--loglevel', 'debug'], {
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
  return {
    rundir,
    eslPort: Number(env.get('FS_ESL_PORT')),
    password: env.get('FS_ESL_PASSWORD') ?? 'ClueCon',
    log: () => readFile(join(rundir, 'log/freeswitch.log'), 'utf8'),
    stop: async () => {
      await run(FS_SH, ['stop', rundir, '--now'], { timeout: 30_000 })
      await rm(rundir, { recursive: true, force: true })
    },
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

export interface RunningService {
  readonly child: ChildProcess
  /** GET/POST against its HTTP API. */
  http(path: string, init?: RequestInit): Promise<Response>
  /** Sum of tts_renders_total (engine runs). */
  renders(): Promise<number>
  /** SIGSTOP / SIGCONT: a service that still accepts connections (the kernel does) but never answers. */
  freeze(): void
  thaw(): void
  stop(): Promise<void>
}

export const SERVICE_HTTP = 'http://127.0.0.1:8080'

/** `tts-cache serve` (the built CLI) on its default ports 8040 (ESL) and 8080 (HTTP). */
export async function startService(env: Record<string, string>): Promise<RunningService> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', TTS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const http = (path: string, init?: RequestInit): Promise<Response> => fetch(`${SERVICE_HTTP}${path}`, init)
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`tts-cache serve exited with ${child.exitCode}: ${stderr}`)
    try {
      // /readyz: listeners up, and (FS_ESL_HOST set) the inbound connection to FreeSWITCH made.
      if ((await http('/readyz')).ok) break
    } catch {
      // Not listening yet.
    }
    if (attempt > 300) throw new Error(`tts-cache serve was not ready: ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    child,
    http,
    renders: async () => {
      const text = await (await http('/metrics')).text()
      let sum = 0
      for (const m of text.matchAll(/^tts_renders_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1])
      return sum
    },
    freeze: () => child.kill('SIGSTOP'),
    thaw: () => child.kill('SIGCONT'),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGCONT')
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        await exited
        clearTimeout(timer)
      }
    },
  }
}
