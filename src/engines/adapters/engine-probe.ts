import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { TtsError, isTtsError } from '../../core/errors.js'
import type { ProbeOptions } from './engine-adapter.js'
import { resolveExecutable } from '../process/resolve-executable.js'
import { runEngineProcess } from '../process/run-engine-process.js'

/**
 * Runs a probe (`--version`, a voice list) and returns its stdout. Any failure means the engine
 * cannot be used: TTS_ERR_ENGINE_UNAVAILABLE, with the original error as cause.
 */
export async function probeStdout(
  id: string,
  binary: string,
  args: readonly string[],
  probe: ProbeOptions,
  env: Readonly<Record<string, string>> | undefined,
  successExitCodes: readonly number[] = [0],
): Promise<string> {
  const run = (): Promise<string> => runProbe(id, binary, args, probe, env, successExitCodes)
  return probe.memo === undefined ? run() : probe.memo.probe({ id, binary, args, env, searchPath: probe.searchPath }, run)
}

async function runProbe(
  id: string,
  binary: string,
  args: readonly string[],
  probe: ProbeOptions,
  env: Readonly<Record<string, string>> | undefined,
  successExitCodes: readonly number[],
): Promise<string> {
  try {
    const { stdout } = await runEngineProcess(binary, args, {
      label: id,
      timeoutMs: probe.timeoutMs,
      killGraceMs: probe.killGraceMs,
      signal: probe.signal,
      env,
      captureStdout: true,
      successExitCodes,
    })
    return stdout
  } catch (err) {
    if (isTtsError(err, 'TTS_ERR_ENGINE_UNAVAILABLE') || isTtsError(err, 'TTS_ERR_ABORTED')) throw err
    const reason = err instanceof Error ? err.message : String(err)
    throw new TtsError('TTS_ERR_ENGINE_UNAVAILABLE', {
      args: [id, `\`${[binary, ...args].join(' ')}\` failed: ${reason}`],
      cause: err,
      ...(isTtsError(err) ? { details: err.details } : {}),
    })
  }
}

/** Finds the binary without running it; TTS_ERR_ENGINE_UNAVAILABLE when it is not there. */
export async function requireExecutable(id: string, binary: string, searchPath: string | undefined): Promise<string> {
  const found = await resolveExecutable(binary, searchPath)
  if (found === undefined) {
    throw new TtsError('TTS_ERR_ENGINE_UNAVAILABLE', { args: [id, `${binary} not found or not executable`] })
  }
  return found
}

/**
 * A version for CLIs that cannot print one: a digest of the binary itself, so a package upgrade
 * (a new binary) yields new cache keys. Pin `version` in the engine options to override.
 */
export async function binaryDigestVersion(id: string, binary: string, searchPath: string | undefined): Promise<string> {
  const found = await requireExecutable(id, binary, searchPath)
  const bytes = await readFile(found)
  return `sha256-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`
}

/** The first non-empty line of `text`, trimmed; '' when there is none. */
export function firstLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .find((line) => line !== '') ?? ''
  )
}

export function requireVersion(id: string, version: string): string {
  if (version === '') throw new TtsError('TTS_ERR_ENGINE_UNAVAILABLE', { args: [id, 'it printed no version'] })
  return version
}
