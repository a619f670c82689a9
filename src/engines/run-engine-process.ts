import { ExecaError, execa } from 'execa'
import { TtsError } from '../core/errors.js'
import type { Logger } from '../core/ports.js'
import { abortError } from '../core/single-flight.js'
import { ByteTail } from './byte-tail.js'
import { ENGINE_DEFAULTS } from './engine-defaults.js'
import { signalProcessGroup, waitForProcessGroupExit } from './process-group.js'

export interface RunEngineProcessOptions {
  /** Names the program in errors and logs (`espeak-ng`, `sox`). */
  readonly label: string
  /** Written to stdin, which is then closed. Absent: stdin is /dev/null. */
  readonly input?: string | undefined
  readonly timeoutMs: number
  /** Between SIGTERM and SIGKILL of the process group on timeout or abort. */
  readonly killGraceMs: number
  readonly signal?: AbortSignal | undefined
  /** Extra environment (merged over the service's). */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Keep stdout (probes such as `--version`); renders discard it. */
  readonly captureStdout?: boolean | undefined
  /** Exit codes that count as success (default only 0): `flite --version` exits 1. */
  readonly successExitCodes?: readonly number[] | undefined
  readonly logger?: Logger | undefined
}

export interface EngineProcessResult {
  /** '' unless `captureStdout`. */
  readonly stdout: string
  readonly stderrTail: string
}

type Settled = { readonly ok: true; readonly stdout: unknown } | { readonly ok: false; readonly error: unknown }

/**
 * Runs one engine (or sox) process: argv array, never a shell; the text on stdin; a timeout and
 * the caller's signal both kill the WHOLE process tree (the child is spawned detached, so it
 * leads its own process group: SIGTERM to the group, SIGKILL after `killGraceMs`). Settles only
 * once the group is gone, so no engine outlives its render. Failures are typed TtsErrors:
 * TTS_ERR_RENDER_TIMEOUT, TTS_ERR_ABORTED (or the signal's own TtsError reason),
 * TTS_ERR_ENGINE_UNAVAILABLE (binary missing or not executable) and TTS_ERR_RENDER_FAILED;
 * each keeps the last ~2 KB of stderr in `details.stderrTail`.
 */
export async function runEngineProcess(
  file: string,
  args: readonly string[],
  options: RunEngineProcessOptions,
): Promise<EngineProcessResult> {
  const { signal, label } = options
  if (signal?.aborted === true) throw abortError(signal)
  const capture = options.captureStdout === true
  const stderr = new ByteTail(ENGINE_DEFAULTS.stderrTailBytes)
  const subprocess = execa(file, args, {
    // Own process group (setsid): pgid === pid, so `kill(-pid)` reaches every descendant.
    detached: true,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    stdout: capture ? 'pipe' : 'ignore',
    stderr: 'pipe',
    buffer: { stdout: capture, stderr: false },
    maxBuffer: { stdout: ENGINE_DEFAULTS.probeStdoutMaxBytes },
    // Engines are third-party programs: they get the service's environment minus its secrets.
    env: { ...engineEnvironment(process.env), ...options.env },
    extendEnv: false,
    // We kill the group ourselves; execa's own kill only reaches the leader.
    forceKillAfterDelay: false,
  })
  subprocess.stderr?.on('data', (chunk: Buffer | string) => stderr.push(chunk))

  const pid = subprocess.pid
  let killedFor: 'timeout' | 'abort' | undefined
  let graceTimer: NodeJS.Timeout | undefined
  const terminate = (why: 'timeout' | 'abort'): void => {
    if (killedFor !== undefined || pid === undefined) return
    killedFor = why
    signalProcessGroup(pid, 'SIGTERM')
    graceTimer = setTimeout(() => signalProcessGroup(pid, 'SIGKILL'), options.killGraceMs)
  }
  const timer = setTimeout(() => terminate('timeout'), options.timeoutMs)
  const onAbort = (): void => terminate('abort')
  signal?.addEventListener('abort', onAbort, { once: true })

  const settled: Settled = await subprocess.then(
    (result) => ({ ok: true, stdout: result.stdout }),
    (error: unknown) => ({ ok: false, error }),
  )
  clearTimeout(timer)
  clearTimeout(graceTimer)
  signal?.removeEventListener('abort', onAbort)
  if (pid !== undefined) {
    // Whatever the leader left behind (a grandchild that ignored SIGTERM, or one that
    // daemonised and closed its pipes) dies now; then wait until the group is really gone.
    signalProcessGroup(pid, 'SIGKILL')
    const gone = await waitForProcessGroupExit(pid, ENGINE_DEFAULTS.groupExitWaitMs, ENGINE_DEFAULTS.groupExitPollMs)
    if (!gone) options.logger?.warn({ engine: label, pgid: pid }, 'engine process group still present after SIGKILL')
  }
  const stderrTail = stderr.text()

  if (killedFor === 'abort' && signal !== undefined) throw abortError(signal)
  if (killedFor === 'timeout') {
    throw new TtsError('TTS_ERR_RENDER_TIMEOUT', {
      args: [label, options.timeoutMs],
      details: { timedOut: true, stderrTail },
      ...(settled.ok ? {} : { cause: settled.error }),
    })
  }
  if (!settled.ok) {
    const accepted = acceptedFailureStdout(settled.error, options.successExitCodes)
    if (accepted === undefined) throw failureError(label, file, settled.error, stderrTail)
    return { stdout: capture ? accepted : '', stderrTail }
  }
  return { stdout: capture && typeof settled.stdout === 'string' ? settled.stdout : '', stderrTail }
}

/** The stdout of a run that failed only by an exit code the caller accepts; else undefined. */
function acceptedFailureStdout(error: unknown, successExitCodes: readonly number[] | undefined): string | undefined {
  if (!(error instanceof ExecaError) || error.exitCode === undefined) return undefined
  if (successExitCodes?.includes(error.exitCode) !== true) return undefined
  return typeof error.stdout === 'string' ? error.stdout : ''
}

function failureError(label: string, file: string, error: unknown, stderrTail: string): TtsError {
  const errno = (error as { code?: unknown }).code
  if (errno === 'ENOENT' || errno === 'EACCES') {
    return new TtsError('TTS_ERR_ENGINE_UNAVAILABLE', {
      args: [label, errno === 'ENOENT' ? `${file} not found` : `${file} is not executable`],
      cause: error,
      details: { errno, stderrTail },
    })
  }
  const exitCode = error instanceof ExecaError ? error.exitCode : undefined
  const signal = error instanceof ExecaError ? error.signal : undefined
  const what =
    exitCode !== undefined
      ? `exit code ${exitCode}`
      : signal !== undefined
        ? `killed by ${signal}`
        : error instanceof ExecaError && error.isMaxBuffer
          ? 'too much output'
          : 'could not run'
  return new TtsError('TTS_ERR_RENDER_FAILED', {
    args: [label, what],
    cause: error,
    details: { exitCode: exitCode ?? null, signal: signal ?? null, timedOut: false, stderrTail },
  })
}

/**
 * Environment variables an engine never needs and must never see: the service's secrets
 * (API token, ESL password, Redis URLs that may carry a password).
 */
const SECRET_ENV = /^(TTS_API_TOKEN|FS_ESL_PASSWORD|REDIS_URL|TTS_AUDIO_REDIS_URL)$|(PASSWORD|SECRET|TOKEN)/i

/** The service's environment with secrets removed (exported for its test). */
export function engineEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const clean: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !SECRET_ENV.test(name)) clean[name] = value
  }
  return clean
}
