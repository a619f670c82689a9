import type { Readable, Writable } from 'node:stream'
import { WAV_HEADER_PROBE_BYTES } from '../../audio/wav.js'
import type { Logger } from '../../core/ports/index.js'
import { abortError } from '../../core/single-flight.js'
import { startEngineProcess } from '../process/run-engine-process.js'
import { soxConvertArgv } from './sox-convert.js'

export interface EngineSoxPipeOptions {
  /** The engine: binary, argv (it writes its WAV to stdout), label for errors, text for stdin. */
  readonly engine: {
    readonly file: string
    readonly args: readonly string[]
    readonly label: string
    readonly input: string | undefined
    readonly env: Readonly<Record<string, string>> | undefined
  }
  readonly soxPath: string
  /** Where sox writes the canonical WAV (absolute). */
  readonly outPath: string
  readonly sampleRate: number
  /** Bound on each of the two processes. */
  readonly timeoutMs: number
  readonly killGraceMs: number
  readonly signal?: AbortSignal | undefined
  readonly logger?: Logger | undefined
  /**
   * Judges what the engine wrote once it exited 0: its first bytes (up to
   * WAV_HEADER_PROBE_BYTES) and its total size. Returns the error to fail with, or undefined.
   */
  readonly checkEngineOutput: (head: Buffer, bytes: number) => Error | undefined
}

/**
 * Runs `engine | sox` without a shell: two processes started together, each in its own process
 * group under the same timeout and signal (runEngineProcess's guarantees, both), the engine's
 * stdout copied into sox's stdin here. sox is forked while the engine already runs (its text
 * is in its stdin by then) and converts each part as it arrives. Settles once both process
 * groups are gone. The failure reported is the first that applies, in this order:
 * the caller's abort; the engine's failure (a timeout included; never masked by the error sox
 * makes of a truncated stream); `checkEngineOutput`'s verdict (an engine that exits 0 with
 * garbage is that, not the sox error it causes); sox's failure. On failure `outPath` may hold a
 * partial file: the caller removes it.
 */
export async function pipeEngineIntoSox(options: EngineSoxPipeOptions): Promise<void> {
  const { engine, signal, logger } = options
  // A function, so TypeScript does not narrow `aborted` to false after the first check.
  const aborted = (): boolean => signal?.aborted === true
  if (signal !== undefined && aborted()) throw abortError(signal)
  const common = { timeoutMs: options.timeoutMs, killGraceMs: options.killGraceMs, signal, logger }
  // No await between the two starts: the abort check above holds for both, so neither throws.
  const engineProcess = startEngineProcess(engine.file, engine.args, {
    ...common,
    label: engine.label,
    input: engine.input,
    env: engine.env,
    streamStdout: true,
  })
  const soxProcess = startEngineProcess(options.soxPath, soxConvertArgv('-', options.outPath, options.sampleRate), {
    ...common,
    label: 'sox',
    streamStdin: true,
  })
  const relay = relayEngineOutput(engineProcess.stdout, soxProcess.stdin, logger)
  const [engineOutcome, soxOutcome] = await Promise.allSettled([engineProcess.done, soxProcess.done])
  if (signal !== undefined && aborted()) throw abortError(signal)
  if (engineOutcome.status === 'rejected') throw engineOutcome.reason
  const invalid = options.checkEngineOutput(relay.head(), relay.bytes())
  if (invalid !== undefined) throw invalid
  if (soxOutcome.status === 'rejected') throw soxOutcome.reason
}

interface RelayedOutput {
  /** The first bytes the engine wrote (up to WAV_HEADER_PROBE_BYTES). */
  head(): Buffer
  /** All the bytes the engine wrote. */
  bytes(): number
}

/**
 * Copies `from` (the engine's stdout) into `to` (sox's stdin) with backpressure, keeping the
 * head and the byte count. If sox stops reading (it failed, or ended early), the rest is read
 * and dropped: the engine runs to its own end, so its exit status, not a broken pipe, tells
 * whether it failed. `to` is ended when `from` ends or closes (an engine killed mid-write), so
 * sox is never left waiting for more.
 */
function relayEngineOutput(from: Readable, to: Writable, logger: Logger | undefined): RelayedOutput {
  const head = Buffer.alloc(WAV_HEADER_PROBE_BYTES)
  let headBytes = 0
  let total = 0
  let forwarding = true
  const stopForwarding = (): void => {
    forwarding = false
    from.resume()
  }
  const endInput = (): void => {
    if (forwarding && !to.writableEnded) to.end()
  }
  to.on('error', (err: Error) => {
    // EPIPE: sox closed its input; its exit status says why (and is reported from there).
    logger?.debug({ err }, 'sox stopped reading the engine output')
    stopForwarding()
  })
  to.on('close', stopForwarding)
  from.on('data', (chunk: Buffer) => {
    total += chunk.length
    if (headBytes < head.length) headBytes += chunk.copy(head, headBytes)
    if (forwarding && !to.write(chunk)) {
      from.pause()
      to.once('drain', () => from.resume())
    }
  })
  from.on('end', endInput)
  from.on('close', endInput)
  return { head: () => head.subarray(0, headBytes), bytes: () => total }
}
