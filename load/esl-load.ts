/**
 * ESL load generator: many concurrent simulated FreeSWITCH channels running the tts_cache
 * phrase macro against the outbound hook (socket(host:port full)), with a Zipf phrase mix.
 *
 * Self-contained (node: imports only, erasable TypeScript) so Node 24 runs it directly:
 *   node load/esl-load.ts --port 8040 --channels 200 --phrases 500 --zipf 1.1 --duration 10000
 *   (--calls N instead of --duration; --full false; --deadline ms; --prefix p to reuse a run's phrases)
 * or from the benchmark suite:
 *   import { runEslLoad } from '../esl-load.ts'
 *
 * Each simulated channel does what FreeSWITCH does on the wire (captured in
 * ../shared/esl-captures/outbound): waits for `connect`, answers with CHANNEL_DATA (URL-encoded
 * variables, Control: full|single-channel), answers api uuid_setvar / sendmsg set / exit with the
 * captured reply framing, sends the disconnect notice and closes.
 */
import { existsSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { randomUUID } from 'node:crypto'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs as parseNodeArgs } from 'node:util'

export interface EslLoadOptions {
  readonly port: number
  readonly host?: string
  /** Concurrent channels (each runs calls back to back). */
  readonly channels: number
  /** Distinct phrases in the mix. */
  readonly phrases: number
  /** Zipf exponent s: P(rank k) ∝ 1 / k^s. 0 = uniform; ~1 = typical IVR prompt popularity. */
  readonly zipfS: number
  /** Run for this long… */
  readonly durationMs?: number
  /** …or this many calls in total (whichever is given; calls wins if both). */
  readonly calls?: number
  /** socket(... full) (default true); false exercises the sendmsg path. */
  readonly full?: boolean
  /** tts_cache_deadline_ms per call (default: the service's). */
  readonly deadlineMs?: number
  /** Prefix for every phrase (a fresh prefix starts the run with a cold cache). */
  readonly textPrefix?: string
  /** PRNG seed for the phrase mix. */
  readonly seed?: number
  /** Per-call limit before it counts as failed (the simulated FreeSWITCH gives up). */
  readonly callTimeoutMs?: number
}

export interface EslLoadResult {
  readonly channels: number
  readonly calls: number
  readonly completed: number
  readonly failed: number
  /** Calls by tts_cache_status. */
  readonly byStatus: Readonly<Record<string, number>>
  /** Calls that ended with tts_file set by the service (not left at the fallback). */
  readonly withFile: number
  /** Time from the channel's TCP connect to the moment the macro could play ${tts_file} (exit received). */
  readonly p50Ms: number
  readonly p95Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** Completed lookups per second over the run. */
  readonly lookupsPerSecond: number
  readonly elapsedMs: number
}

const GOODBYE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n'
const UNSAFE = new Set(Buffer.from('\r\n #%&+:;<=>?@[\\]^`{|}"', 'latin1'))

/** FreeSWITCH's URL encoding of header values (see test/fakes/freeswitch/url-encode.ts). */
function fsUrlEncode(value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte < 0x20 || byte > 0x7e || UNSAFE.has(byte) ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte)
  }
  return out
}

/** The captured CHANNEL_DATA (when the captures are around), else a compact one with the same framing. */
function channelDataTemplate(): { lines: string[]; uuid: string } {
  const here = dirname(fileURLToPath(import.meta.url))
  const dir = process.env['ESL_CAPTURES_DIR'] ?? resolve(here, '../../shared/esl-captures')
  const file = resolve(dir, 'outbound/q3-phrase-full-api_setvar.outbound.fs2peer.raw')
  if (existsSync(file)) {
    const bytes = readFileSync(file, 'utf8')
    const lines = bytes.slice(0, bytes.indexOf('\n\n')).split('\n')
    const uuid = (lines.find((l) => l.startsWith('Unique-ID: ')) ?? '').slice('Unique-ID: '.length)
    return { lines, uuid }
  }
  const uuid = '00000000-0000-0000-0000-000000000000'
  return {
    uuid,
    lines: [
      'Event-Name: CHANNEL_DATA',
      'Channel-State: CS_EXECUTE',
      `Unique-ID: ${uuid}`,
      'Answer-State: answered',
      `variable_uuid: ${uuid}`,
      'variable_tts_text: x',
      'variable_current_application: socket',
      'Content-Type: command/reply',
      'Reply-Text: %2BOK%0A',
      'Socket-Mode: static',
      'Control: full',
    ],
  }
}

interface PreparedTemplate {
  /** The captured block cut at the channel UUID, the tts_text line and the Control line. */
  readonly segments: readonly (string | typeof UUID_SLOT | typeof VARS_SLOT | typeof CONTROL_SLOT)[]
}

const UUID_SLOT = Symbol('uuid')
const VARS_SLOT = Symbol('vars')
const CONTROL_SLOT = Symbol('control')

/** Cuts the template once, so building each call's CHANNEL_DATA is a few concatenations. */
function prepareTemplate(template: { lines: string[]; uuid: string }): PreparedTemplate {
  const segments: PreparedTemplate['segments'][number][] = []
  for (const line of template.lines) {
    if (line.startsWith('variable_tts_text: ')) segments.push(VARS_SLOT, '\n')
    else if (line.startsWith('Control: ')) segments.push(CONTROL_SLOT, '\n')
    else {
      const pieces = line.split(template.uuid)
      pieces.forEach((piece, i) => {
        if (i > 0) segments.push(UUID_SLOT)
        segments.push(piece)
      })
      segments.push('\n')
    }
  }
  segments.push('\n')
  return { segments }
}

function channelData(template: PreparedTemplate, uuid: string, vars: string, full: boolean): string {
  let out = ''
  for (const segment of template.segments) {
    if (typeof segment === 'string') out += segment
    else if (segment === UUID_SLOT) out += uuid
    else if (segment === VARS_SLOT) out += vars
    else out += full ? 'Control: full' : 'Control: single-channel'
  }
  return out
}

/** The channel's `variable_*` lines for a phrase, URL-encoded as FreeSWITCH sends them. */
function encodedVariables(vars: readonly (readonly [string, string])[]): string {
  return vars.map(([n, v]) => `variable_${n}: ${fsUrlEncode(v)}`).join('\n')
}

/** 36 bytes that stand for the call's UUID in a pre-encoded CHANNEL_DATA (a UUID is 36 ASCII bytes). */
const UUID_MARK = 'UUUUUUUU-UUUU-UUUU-UUUU-UUUUUUUUUUUU'

/** One phrase's CHANNEL_DATA, encoded once: each call copies it and writes its UUID at `uuidAt`. */
interface PreEncoded {
  readonly bytes: Buffer
  readonly uuidAt: readonly number[]
}

/** The per-phrase CHANNEL_DATA bytes of a run (built on first use, then reused by every call of that phrase). */
class CallBytes {
  readonly #template: PreparedTemplate
  readonly #full: boolean
  readonly #deadlineMs: number | undefined
  readonly #byText = new Map<string, PreEncoded>()

  constructor(template: PreparedTemplate, options: EslLoadOptions) {
    this.#template = template
    this.#full = options.full ?? true
    this.#deadlineMs = options.deadlineMs
  }

  /** CHANNEL_DATA for `text` on the channel `uuid`: one copy of the pre-encoded bytes and the UUID written in. */
  channelData(text: string, uuid: string): Buffer {
    let pre = this.#byText.get(text)
    if (pre === undefined) {
      pre = this.#encode(text)
      this.#byText.set(text, pre)
    }
    const out = Buffer.allocUnsafe(pre.bytes.length)
    pre.bytes.copy(out)
    for (const at of pre.uuidAt) out.write(uuid, at, 'latin1')
    return out
  }

  #encode(text: string): PreEncoded {
    // As the shipped macro writes it (src/esl/outbound/call-input.ts wrapMacroText): guard, text, end marker.
    const marker = text.includes('%') ? '~tts_cache_getvar' : '~tts_cache_end'
    const vars: [string, string][] = [['tts_file', FALLBACK], ['tts_cache_text', `${'('.repeat(16)}${text}${marker}`]]
    if (this.#deadlineMs !== undefined) vars.push(['tts_cache_deadline_ms', String(this.#deadlineMs)])
    const bytes = Buffer.from(channelData(this.#template, UUID_MARK, encodedVariables(vars), this.#full), 'utf8')
    const uuidAt: number[] = []
    for (let at = bytes.indexOf(UUID_MARK); at >= 0; at = bytes.indexOf(UUID_MARK, at + UUID_MARK.length)) uuidAt.push(at)
    return { bytes, uuidAt }
  }
}

const FALLBACK = '/fallback.wav'
/** FreeSWITCH's replies, encoded once. */
const API_OK = Buffer.from('Content-Type: api/response\nContent-Length: 4\n\n+OK\n')
const COMMAND_OK = Buffer.from('Content-Type: command/reply\nReply-Text: +OK\n\n')
const NOT_FOUND = Buffer.from('Content-Type: command/reply\nReply-Text: -ERR command not found\n\n')
const BYE_HEAD = Buffer.from('Content-Type: command/reply\nReply-Text: +OK bye\n\nContent-Type: text/disconnect-notice\nControlled-Session-UUID: ')
const BYE_TAIL = Buffer.from(`\nContent-Disposition: disconnect\nContent-Length: ${GOODBYE.length}\n\n${GOODBYE}`)
/** Statuses that come with audio: tts_file and tts_cache_key must be set too. */
const WITH_AUDIO = new Set(['hit', 'rendered', 'coalesced'])

/** mulberry32: a small seeded PRNG, so a run's phrase sequence is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Samples ranks 1..n with P(k) ∝ 1/k^s. */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf: number[] = []
  let total = 0
  for (let k = 1; k <= n; k++) {
    total += 1 / k ** s
    cdf.push(total)
  }
  return () => {
    const x = random() * total
    let lo = 0
    let hi = cdf.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cdf[mid] as number) < x) lo = mid + 1
      else hi = mid
    }
    return lo + 1
  }
}

interface CallOutcome {
  readonly ok: boolean
  readonly ms: number
  readonly status: string | undefined
  readonly file: boolean
}

/** What the service wrote to the channel (uuid_setvar or sendmsg set). */
interface Written {
  file: string
  status: string | undefined
  key: string | undefined
}

function setVariable(written: Written, name: string, value: string): void {
  if (name === 'tts_file') written.file = value
  else if (name === 'tts_cache_status') written.status = value
  else if (name === 'tts_cache_key') written.key = value
}

/**
 * Every answer checked: a status was written, and a status with audio came with tts_file (not
 * the fallback) and tts_cache_key. A call that fails this counts as failed.
 */
function answerValid(written: Written): boolean {
  if (written.status === undefined) return false
  return !WITH_AUDIO.has(written.status) || (written.file !== FALLBACK && written.key !== undefined && written.key !== '')
}

/** One simulated channel call: resolves when the service let the macro continue (or it failed). */
function simulateCall(options: EslLoadOptions, bytes: CallBytes, text: string): Promise<CallOutcome> {
  const started = performance.now()
  const uuid = randomUUID()
  const full = options.full ?? true
  const written: Written = { file: FALLBACK, status: undefined, key: undefined }
  return new Promise((resolveCall) => {
    let done = false
    let exitAt: number | undefined
    const finish = (ok: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolveCall({ ok: ok && exitAt !== undefined && answerValid(written), ms: (exitAt ?? performance.now()) - started, status: written.status, file: written.file !== FALLBACK })
    }
    const timer = setTimeout(() => finish(false), options.callTimeoutMs ?? 30_000)
    const socket = connect({ port: options.port, host: options.host ?? '127.0.0.1' })
    socket.setNoDelay(true)
    // Strings, not Buffers: the service only sends text frames without bodies, and a
    // StringDecoder keeps a UTF-8 character split across reads intact.
    socket.setEncoding('utf8')
    let pending = ''
    let connected = false
    socket.on('error', () => finish(false))
    socket.on('close', () => finish(true))
    socket.on('end', () => {
      if (!socket.writableEnded) socket.end()
    })
    socket.on('data', (chunk: string) => {
      pending = pending.length === 0 ? chunk : pending + chunk
      let from = 0
      for (;;) {
        const end = pending.indexOf('\n\n', from)
        if (end < 0) break
        const lineEnd = pending.indexOf('\n', from)
        const line = pending.slice(from, lineEnd)
        const block = from
        from = end + 2
        // FreeSWITCH writes one reply per command, as it reads them (read_packet): one write each.
        if (!connected) {
          if (line !== 'connect') return finish(false)
          connected = true
          socket.write(bytes.channelData(text, uuid))
        } else if (line.startsWith('api ')) {
          if (!full) {
            socket.write(NOT_FOUND)
            continue
          }
          // api uuid_setvar <uuid> <name> <value…>
          const words = line.split(' ')
          if (words[1] === 'uuid_setvar' && words[2] === uuid && words[3] !== undefined) setVariable(written, words[3], words.slice(4).join(' '))
          socket.write(API_OK)
        } else if (line === 'sendmsg' || line.startsWith('sendmsg ')) {
          const at = pending.indexOf('\nexecute-app-arg: ', block)
          if (at >= 0 && at < end) {
            const argEnd = pending.indexOf('\n', at + 1)
            const arg = pending.slice(at + '\nexecute-app-arg: '.length, argEnd < 0 || argEnd > end ? end : argEnd)
            const eq = arg.indexOf('=')
            if (eq > 0) setVariable(written, arg.slice(0, eq), arg.slice(eq + 1))
          }
          socket.write(COMMAND_OK)
        } else if (line === 'exit') {
          exitAt = performance.now()
          socket.write(Buffer.concat([BYE_HEAD, Buffer.from(uuid, 'latin1'), BYE_TAIL]))
          socket.end()
        } else {
          socket.write(NOT_FOUND)
        }
      }
      pending = from === 0 ? pending : pending.slice(from)
    })
  })
}

/**
 * One simulated call for `text` on the ESL hook at `port`: what FreeSWITCH's socket application
 * would see (`tts_cache_status`, whether `tts_file` was set). Connection refused counts as not ok.
 */
export async function eslCall(port: number, text: string, options: { callTimeoutMs?: number } = {}): Promise<{ ok: boolean; status: string | undefined; file: boolean }> {
  const load = { port, channels: 1, phrases: 1, zipfS: 0, callTimeoutMs: options.callTimeoutMs ?? 5000 }
  const outcome = await simulateCall(load, new CallBytes(prepareTemplate(channelDataTemplate()), load), text)
  return { ok: outcome.ok, status: outcome.status, file: outcome.file }
}

/** One call of a burst: its status and when its `exit` arrived, on CLOCK_MONOTONIC (µs, as process.hrtime). */
export interface BurstCall {
  readonly ok: boolean
  readonly status: string | undefined
  readonly exitUs: number
}

/** CLOCK_MONOTONIC in µs: the same clock in every process on the machine (esl-serve stamps its answers with it). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/**
 * `channels` calls for the same `text`, all started at once (a dogpile: one miss and its
 * waiters, or as many concurrent hits). Resolves when every call has ended; `startedUs` is when
 * the first connect was issued.
 */
export async function runEslBurst(options: { port: number; host?: string; text: string; channels: number; callTimeoutMs?: number }): Promise<{ startedUs: number; calls: BurstCall[] }> {
  const base = { port: options.port, host: options.host ?? '127.0.0.1', channels: options.channels, phrases: 1, zipfS: 0, callTimeoutMs: options.callTimeoutMs ?? 60_000 }
  const bytes = new CallBytes(prepareTemplate(channelDataTemplate()), base)
  // performance.now() → monotonic µs: one offset, taken once.
  const offsetUs = monotonicUs() - performance.now() * 1000
  const startedMs = performance.now()
  const outcomes = await Promise.all(
    Array.from({ length: options.channels }, async () => {
      const started = performance.now()
      const o = await simulateCall(base, bytes, options.text)
      return { ok: o.ok, status: o.status, exitUs: Math.round((started + o.ms) * 1000 + offsetUs) }
    }),
  )
  return { startedUs: Math.round(startedMs * 1000 + offsetUs), calls: outcomes }
}

/** Percentiles of a hook's service-side times, as esl-serve and the bare hook report them. */
export interface ServiceTimesSummary {
  readonly count: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
  readonly meanMs: number
}

/** Nearest-rank percentiles (ms, µs resolution) and the mean of `sorted` (seconds, ascending); zeros when empty. */
export function summarizeServiceTimes(sorted: ArrayLike<number>): ServiceTimesSummary {
  const at = (p: number): number => {
    if (sorted.length === 0) return 0
    const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0
    return Math.round(v * 1e6) / 1e3
  }
  let sum = 0
  for (let i = 0; i < sorted.length; i++) sum += sorted[i] ?? 0
  return {
    count: sorted.length,
    p50Ms: at(50),
    p90Ms: at(90),
    p99Ms: at(99),
    p999Ms: at(99.9),
    maxMs: at(100),
    meanMs: sorted.length === 0 ? 0 : Math.round((sum / sorted.length) * 1e6) / 1e3,
  }
}

/** The text of phrase `rank` in a run with `prefix` (exported so a runner can pre-warm exactly these). */
export function phraseText(prefix: string, rank: number): string {
  return `${prefix}: prompt number ${rank}, please hold the line.`
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] as number
}

/** Runs the load and reports time-to-tts_file percentiles and lookups/s. */
export async function runEslLoad(options: EslLoadOptions): Promise<EslLoadResult> {
  if (options.durationMs === undefined && options.calls === undefined) throw new Error('runEslLoad: give durationMs or calls')
  const bytes = new CallBytes(prepareTemplate(channelDataTemplate()), options)
  const next = zipfSampler(options.phrases, options.zipfS, prng(options.seed ?? 42))
  const prefix = options.textPrefix ?? `run ${Date.now().toString(36)}`
  const started = performance.now()
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs
  let issued = 0
  const outcomes: CallOutcome[] = []
  const texts: string[] = []
  const more = (): boolean => (options.calls !== undefined ? issued < options.calls : performance.now() < deadline)
  const channel = async (): Promise<void> => {
    while (more()) {
      issued++
      const rank = next()
      texts[rank] ??= phraseText(prefix, rank)
      outcomes.push(await simulateCall(options, bytes, texts[rank] as string))
    }
  }
  await Promise.all(Array.from({ length: options.channels }, () => channel()))
  const elapsedMs = performance.now() - started
  const ok = outcomes.filter((o) => o.ok)
  const times = ok.map((o) => o.ms).sort((a, b) => a - b)
  const byStatus: Record<string, number> = {}
  for (const o of ok) byStatus[o.status ?? 'unset'] = (byStatus[o.status ?? 'unset'] ?? 0) + 1
  const round = (n: number): number => Math.round(n * 100) / 100
  return {
    channels: options.channels,
    calls: outcomes.length,
    completed: ok.length,
    failed: outcomes.length - ok.length,
    byStatus,
    withFile: ok.filter((o) => o.file).length,
    p50Ms: round(percentile(times, 50)),
    p95Ms: round(percentile(times, 95)),
    p99Ms: round(percentile(times, 99)),
    maxMs: round(times.at(-1) ?? 0),
    lookupsPerSecond: round(ok.length / (elapsedMs / 1000)),
    elapsedMs: Math.round(elapsedMs),
  }
}

/**
 * `--name value` pairs from argv, strictly: `--help`/`-h` prints `usage` and exits 0; an option
 * not in `known`, or one without its value, prints why and `usage` and exits 2 (a mistyped or
 * help flag must never start a load against a port).
 */
export function parseArgs(argv: readonly string[], known: readonly string[], usage: string): Record<string, string> {
  try {
    const { values } = parseNodeArgs({
      args: [...argv],
      options: { help: { type: 'boolean', short: 'h' }, ...Object.fromEntries(known.map((name) => [name, { type: 'string' as const }])) },
      strict: true,
      allowPositionals: false,
    })
    if (values['help'] === true) {
      process.stdout.write(`${usage}\n`)
      process.exit(0)
    }
    const args: Record<string, string> = {}
    for (const [name, value] of Object.entries(values as Record<string, unknown>)) if (typeof value === 'string') args[name] = value
    return args
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}\n`)
    process.exit(2)
  }
}

export function loadOptionsFromArgs(args: Record<string, string>, port: number): EslLoadOptions {
  const num = (name: string, fallback: number): number => (args[name] === undefined ? fallback : Number(args[name]))
  const base = {
    port,
    host: args['host'] ?? '127.0.0.1',
    channels: num('channels', 100),
    phrases: num('phrases', 200),
    zipfS: num('zipf', 1.1),
    full: args['full'] !== 'false',
    seed: num('seed', 42),
    ...(args['prefix'] === undefined ? {} : { textPrefix: args['prefix'] }),
  }
  const withDeadline = args['deadline'] === undefined ? base : { ...base, deadlineMs: Number(args['deadline']) }
  return args['calls'] !== undefined ? { ...withDeadline, calls: Number(args['calls']) } : { ...withDeadline, durationMs: num('duration', 10_000) }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const usage =
    'usage: node load/esl-load.ts [--port 8040] [--host 127.0.0.1] [--channels 100] [--phrases 200] [--zipf 1.1]\n' +
    '  [--duration 10000 | --calls N] [--full true|false] [--deadline ms] [--seed 42] [--prefix p]'
  const args = parseArgs(process.argv.slice(2), ['port', 'host', 'channels', 'phrases', 'zipf', 'duration', 'calls', 'full', 'deadline', 'seed', 'prefix'], usage)
  const result = await runEslLoad(loadOptionsFromArgs(args, Number(args['port'] ?? 8040)))
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
}
