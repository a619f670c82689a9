import { rename, rm, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { isCanonicalWav, parseWavHeader } from '../../audio/wav.js'
import { DEFAULTS } from '../../core/defaults.js'
import { TtsError } from '../../core/errors.js'
import type { Logger, RenderJob, RenderedAudio } from '../../core/ports/index.js'
import { abortError } from '../../core/single-flight.js'
import type { EngineAdapter, EngineRenderArgs } from '../adapters/engine-adapter.js'
import { ENGINE_DEFAULTS } from '../engine-defaults.js'
import { pipeEngineIntoSox } from './engine-sox-pipe.js'
import { readWavFile } from './read-wav-file.js'
import { runEngineProcess } from '../process/run-engine-process.js'
import { convertToCanonicalWav } from './sox-convert.js'

export interface RenderToFileOptions {
  /** The adapter of `job.request.engine` (from the catalog). */
  readonly engine: EngineAdapter
  /** Aborts the render: kills the engine's (or sox's) process group. */
  readonly signal?: AbortSignal | undefined
  /** Bound on each process (engine and sox). Default DEFAULTS.renderTimeoutMs. */
  readonly timeoutMs?: number | undefined
  /** SIGTERM → SIGKILL grace for a killed process group. Default DEFAULTS.killGraceMs. */
  readonly killGraceMs?: number | undefined
  /** Default ENGINE_DEFAULTS.soxPath (`sox` on PATH). */
  readonly soxPath?: string | undefined
  readonly logger?: Logger | undefined
}

/**
 * Renders `job` into `job.outPath` as a canonical WAV (PCM16 mono at the requested rate), in one
 * of two ways:
 * - piped, when the engine can write its WAV to stdout (`stdoutArgv`) and its output needs
 *   converting: `engine | sox -t wav - …` as two processes running together (no shell), sox
 *   writing `outPath`;
 * - through a scratch file beside `outPath` (`<outPath>.engine.wav`) otherwise: the engine writes
 *   it, then it is renamed when already canonical and converted by sox when not.
 * The engine's output is validated: an engine that exits 0 with no, empty or garbage output
 * fails with TTS_ERR_INVALID_AUDIO. sox's output is not read back: sox exited 0 with the format
 * it was asked for, and its header is validated again where it matters, before anything is
 * published or shared (DiskRenderSlot.commit, the cluster worker). So `durationMs` is the
 * engine's, which sox's rate change keeps (to the millisecond's rounding); `bytes` is the
 * file's. On any failure or abort nothing is left behind: neither the scratch file nor
 * `outPath`. It neither fsyncs nor publishes: `outPath` is the store's temp path, and
 * committing it is the store's job.
 */
export async function renderToFile(job: RenderJob, options: RenderToFileOptions): Promise<RenderedAudio> {
  const { engine, signal } = options
  const { request } = job
  if (engine.id !== request.engine) {
    throw new TtsError('TTS_ERR_INTERNAL', { args: [`a ${request.engine} job was given to the ${engine.id} adapter`] })
  }
  const outPath = resolve(job.outPath)
  const scratchPath = `${outPath}.engine.wav`
  const log = options.logger?.child({ component: 'render', engine: engine.id, key: job.key })
  const run: RenderRun = {
    engine,
    renderArgs: { outPath: scratchPath, voice: request.voice, sampleRate: request.sampleRate },
    text: request.text,
    outPath,
    timeoutMs: options.timeoutMs ?? DEFAULTS.renderTimeoutMs,
    killGraceMs: options.killGraceMs ?? DEFAULTS.killGraceMs,
    soxPath: options.soxPath ?? ENGINE_DEFAULTS.soxPath,
    signal,
    log,
  }
  // Already canonical at the engine's rate: a scratch file renamed beats starting sox.
  const piped = engine.stdoutArgv !== undefined && engine.nativeRate?.(run.renderArgs) !== request.sampleRate

  let rendered = false
  try {
    const durationMs = piped ? await renderPiped(run) : await renderThroughScratchFile(run)
    if (signal?.aborted === true) throw abortError(signal)
    const bytes = await outputBytes(outPath, engine.id)
    rendered = true
    return { bytes, durationMs }
  } finally {
    if (!piped) await removeQuietly(scratchPath, log)
    if (!rendered) await removeQuietly(outPath, log)
  }
}

/** One render's settings, resolved. */
interface RenderRun {
  readonly engine: EngineAdapter
  /** `outPath` here is the scratch file. */
  readonly renderArgs: EngineRenderArgs
  readonly text: string
  /** The canonical WAV to produce. */
  readonly outPath: string
  readonly timeoutMs: number
  readonly killGraceMs: number
  readonly soxPath: string
  readonly signal: AbortSignal | undefined
  readonly log: Logger | undefined
}

/** The engine's argv with the text appended after `--` when it cannot read stdin, and its stdin. */
function engineCommand(engine: EngineAdapter, argv: readonly string[], text: string): { args: string[]; input: string | undefined } {
  const textInArgv = engine.textInput === 'argv-after-dashes'
  return { args: [...argv, ...(textInArgv ? ['--', text] : [])], input: textInArgv ? undefined : text }
}

/** Returns the duration the engine spoke (ms). */
async function renderPiped(run: RenderRun): Promise<number> {
  const { engine, renderArgs } = run
  const { args, input } = engineCommand(engine, engine.stdoutArgv?.(renderArgs) ?? [], run.text)
  run.log?.debug({ expectedRate: engine.nativeRate?.(renderArgs), to: renderArgs.sampleRate }, 'piping engine output into sox')
  let durationMs = 0
  await pipeEngineIntoSox({
    engine: { file: engine.binary, args, label: engine.id, input, env: engine.env },
    soxPath: run.soxPath,
    outPath: run.outPath,
    sampleRate: renderArgs.sampleRate,
    timeoutMs: run.timeoutMs,
    killGraceMs: run.killGraceMs,
    signal: run.signal,
    logger: run.log,
    checkEngineOutput: (head, bytes) => {
      const streamed = checkStreamedWav(head, bytes)
      if (!streamed.ok) return invalidAudio(engine.id, streamed.reason)
      durationMs = streamed.durationMs
      return undefined
    },
  })
  return durationMs
}

/** Returns the duration the engine spoke (ms). */
async function renderThroughScratchFile(run: RenderRun): Promise<number> {
  const { engine, renderArgs, signal, log } = run
  const scratchPath = renderArgs.outPath
  const { args, input } = engineCommand(engine, engine.argv(renderArgs), run.text)
  await runEngineProcess(engine.binary, args, {
    label: engine.id,
    input,
    timeoutMs: run.timeoutMs,
    killGraceMs: run.killGraceMs,
    signal,
    env: engine.env,
    logger: log,
  })
  if (signal?.aborted === true) throw abortError(signal)
  const produced = await readWavFile(scratchPath)
  if (!produced.check.ok) throw invalidAudio(engine.id, produced.check.reason)
  const info = produced.check.info
  if (info.dataBytes < 2 || info.durationMs <= 0) throw invalidAudio(engine.id, 'no audio samples')
  if (isCanonicalWav(info, renderArgs.sampleRate)) {
    await rename(scratchPath, run.outPath)
    return info.durationMs
  }
  log?.debug(
    {
      from: { sampleRate: info.sampleRate, channels: info.channels, bits: info.bitsPerSample },
      expectedRate: engine.nativeRate?.(renderArgs),
      to: renderArgs.sampleRate,
    },
    'converting engine output',
  )
  await convertToCanonicalWav(scratchPath, run.outPath, renderArgs.sampleRate, {
    soxPath: run.soxPath,
    timeoutMs: run.timeoutMs,
    killGraceMs: run.killGraceMs,
    signal,
    logger: log,
  })
  return info.durationMs
}

/**
 * Checks the WAV an engine streamed (its first bytes, its size) and measures its duration. A
 * stream cannot seek back to fill in its sizes (espeak-ng writes 0x7ffff000), so a data chunk
 * claiming more than was written runs to the end of the output, as sox reads it.
 */
function checkStreamedWav(head: Buffer, bytes: number): { ok: true; durationMs: number } | { ok: false; reason: string } {
  if (bytes === 0) return { ok: false, reason: 'no output' }
  const check = parseWavHeader(head, Number.MAX_SAFE_INTEGER)
  if (!check.ok) return check
  const { dataOffset, sampleRate, channels, bitsPerSample } = check.info
  const dataBytes = Math.min(check.info.dataBytes, bytes - dataOffset)
  if (dataBytes < 2) return { ok: false, reason: 'no audio samples' }
  return { ok: true, durationMs: Math.round((dataBytes / (sampleRate * channels * (bitsPerSample / 8))) * 1000) }
}

/** Size of the finished file; none or an empty one is as unusable as any other bad output. */
async function outputBytes(outPath: string, engineId: string): Promise<number> {
  const size = await stat(outPath).then(
    (info) => info.size,
    (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
      throw err
    },
  )
  if (size === 0) throw invalidAudio(engineId, 'no converted output')
  return size
}

function invalidAudio(engine: string, reason: string): TtsError {
  return new TtsError('TTS_ERR_INVALID_AUDIO', { args: [engine, reason], details: { reason } })
}

/** Cleanup must not mask the render's own error; a failed removal is logged, not thrown. */
async function removeQuietly(path: string, log: Logger | undefined): Promise<void> {
  try {
    await rm(path, { force: true })
  } catch (err) {
    log?.warn({ err, path }, 'could not remove a render file')
  }
}
