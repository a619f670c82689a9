import { rename, rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import { isCanonicalWav } from '../audio/wav.js'
import { DEFAULTS } from '../core/defaults.js'
import { TtsError } from '../core/errors.js'
import type { Logger, RenderJob, RenderedAudio } from '../core/ports.js'
import { abortError } from '../core/single-flight.js'
import type { EngineAdapter } from './engine-adapter.js'
import { ENGINE_DEFAULTS } from './engine-defaults.js'
import { readWavFile } from './read-wav-file.js'
import { runEngineProcess } from './run-engine-process.js'
import { convertToCanonicalWav } from './sox-convert.js'

export interface RenderToFileOptions {
  /** The adapter of `job.request.engine` (from the catalog). */
  readonly engine: EngineAdapter
  /** Aborts the render: kills the engine's (or sox's) process group. */
  readonly signal?: AbortSignal | undefined
  /** Bound on each process (engine, then sox). Default DEFAULTS.renderTimeoutMs. */
  readonly timeoutMs?: number | undefined
  /** SIGTERM → SIGKILL grace for a killed process group. Default DEFAULTS.killGraceMs. */
  readonly killGraceMs?: number | undefined
  /** Default ENGINE_DEFAULTS.soxPath (`sox` on PATH). */
  readonly soxPath?: string | undefined
  readonly logger?: Logger | undefined
}

/**
 * Renders `job` into `job.outPath` as a canonical WAV (PCM16 mono at the requested rate):
 * the engine writes a scratch file beside it (`<outPath>.engine.wav`), which is renamed when
 * already canonical and converted by sox otherwise; the result is validated. An engine that
 * exits 0 with no, empty or garbage output fails with TTS_ERR_INVALID_AUDIO. On any failure or
 * abort nothing is left behind: neither the scratch file nor `outPath`. It neither fsyncs nor
 * publishes: `outPath` is the store's temp path, and committing it is the store's job.
 */
export async function renderToFile(job: RenderJob, options: RenderToFileOptions): Promise<RenderedAudio> {
  const { engine, signal } = options
  const { request } = job
  if (engine.id !== request.engine) {
    throw new TtsError('TTS_ERR_INTERNAL', { args: [`a ${request.engine} job was given to the ${engine.id} adapter`] })
  }
  const outPath = resolve(job.outPath)
  const scratchPath = `${outPath}.engine.wav`
  const timeoutMs = options.timeoutMs ?? DEFAULTS.renderTimeoutMs
  const killGraceMs = options.killGraceMs ?? DEFAULTS.killGraceMs
  const log = options.logger?.child({ component: 'render', engine: engine.id, key: job.key })
  const renderArgs = { outPath: scratchPath, voice: request.voice, sampleRate: request.sampleRate }
  const textInArgv = engine.textInput === 'argv-after-dashes'
  const argv = [...engine.argv(renderArgs), ...(textInArgv ? ['--', request.text] : [])]

  let rendered = false
  try {
    await runEngineProcess(engine.binary, argv, {
      label: engine.id,
      input: textInArgv ? undefined : request.text,
      timeoutMs,
      killGraceMs,
      signal,
      env: engine.env,
      logger: log,
    })
    if (signal?.aborted === true) throw abortError(signal)
    const produced = await readWavFile(scratchPath)
    if (!produced.check.ok) throw invalidAudio(engine.id, produced.check.reason)
    const info = produced.check.info
    if (info.dataBytes < 2 || info.durationMs <= 0) throw invalidAudio(engine.id, 'no audio samples')
    if (isCanonicalWav(info, request.sampleRate)) {
      await rename(scratchPath, outPath)
    } else {
      log?.debug(
        {
          from: { sampleRate: info.sampleRate, channels: info.channels, bits: info.bitsPerSample },
          expectedRate: engine.nativeRate?.(renderArgs),
          to: request.sampleRate,
        },
        'converting engine output',
      )
      await convertToCanonicalWav(scratchPath, outPath, request.sampleRate, {
        soxPath: options.soxPath ?? ENGINE_DEFAULTS.soxPath,
        timeoutMs,
        killGraceMs,
        signal,
        logger: log,
      })
    }
    const final = await readWavFile(outPath)
    if (!final.check.ok) throw invalidAudio(engine.id, `converted file: ${final.check.reason}`)
    if (!isCanonicalWav(final.check.info, request.sampleRate)) {
      throw invalidAudio(engine.id, `converted file is not PCM16 mono at ${request.sampleRate} Hz`)
    }
    rendered = true
    return { bytes: final.bytes, durationMs: final.check.info.durationMs }
  } finally {
    await removeQuietly(scratchPath, log)
    if (!rendered) await removeQuietly(outPath, log)
  }
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
