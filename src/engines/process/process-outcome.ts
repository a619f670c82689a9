/**
 * How a finished engine run (run-engine-process.ts) is judged: its result, or a typed TtsError
 * (TTS_ERR_ABORTED or the signal's own reason, TTS_ERR_RENDER_TIMEOUT, TTS_ERR_ENGINE_UNAVAILABLE,
 * TTS_ERR_RENDER_FAILED) that keeps the tail of its stderr and wraps a plain Error saying what ran.
 */
import { TtsError } from '../../core/errors.js'
import { abortError } from '../../core/single-flight.js'
import type { ChildOutcome } from './spawn-child.js'

export interface EngineProcessResult {
  /** '' unless `captureStdout`. */
  readonly stdout: string
  readonly stderrTail: string
}

/** The run options the judgement reads (RunEngineProcessOptions has them all). */
export interface JudgedOptions {
  readonly label: string
  readonly timeoutMs: number
  readonly signal?: AbortSignal | undefined
  readonly captureStdout?: boolean | undefined
  readonly successExitCodes?: readonly number[] | undefined
}

/** Why the runner killed the process group. */
export type KillReason = 'timeout' | 'abort' | 'maxBuffer'

export interface FinishedRun {
  readonly file: string
  readonly args: readonly string[]
  readonly options: JudgedOptions
  readonly ended: ChildOutcome
  readonly killedFor: KillReason | undefined
  readonly stderrTail: string
}

export function resultOf(run: FinishedRun): EngineProcessResult {
  const { file, args, options, ended, killedFor, stderrTail } = run
  const { label, signal } = options
  if (killedFor === 'abort' && signal !== undefined) throw abortError(signal)
  if (killedFor === 'timeout') {
    throw new TtsError('TTS_ERR_RENDER_TIMEOUT', {
      args: [label, options.timeoutMs],
      details: { timedOut: true, stderrTail },
      ...(ended.exitCode === 0 ? {} : { cause: processError(file, args, ended) }),
    })
  }
  const succeeded = ended.exitCode !== undefined && (ended.exitCode === 0 || options.successExitCodes?.includes(ended.exitCode) === true)
  if (!succeeded || ended.maxBuffer) throw failureError(label, file, args, ended, stderrTail)
  return { stdout: options.captureStdout === true ? ended.stdout : '', stderrTail }
}

/** The plain Error a failed run is wrapped around (`cause`): what ran and how it ended. */
function processError(file: string, args: readonly string[], ended: ChildOutcome): Error {
  if (ended.spawnError !== undefined) return ended.spawnError
  const how = ended.maxBuffer ? 'wrote too much to stdout' : ended.signal !== undefined ? `was killed by ${ended.signal}` : `exited with code ${ended.exitCode}`
  return new Error(`\`${[file, ...args].join(' ')}\` ${how}`)
}

function failureError(label: string, file: string, args: readonly string[], ended: ChildOutcome, stderrTail: string): TtsError {
  const errno = ended.spawnError?.code
  if (errno === 'ENOENT' || errno === 'EACCES') {
    return new TtsError('TTS_ERR_ENGINE_UNAVAILABLE', {
      args: [label, errno === 'ENOENT' ? `${file} not found` : `${file} is not executable`],
      cause: ended.spawnError,
      details: { errno, stderrTail },
    })
  }
  const what = ended.maxBuffer
    ? 'too much output'
    : ended.exitCode !== undefined
      ? `exit code ${ended.exitCode}`
      : ended.signal !== undefined
        ? `killed by ${ended.signal}`
        : 'could not run'
  return new TtsError('TTS_ERR_RENDER_FAILED', {
    args: [label, what],
    cause: processError(file, args, ended),
    details: { exitCode: ended.exitCode ?? null, signal: ended.signal ?? null, timedOut: false, stderrTail },
  })
}
