/** What the service and its render host process say to each other (structured clone over IPC). */
import { ERROR_CODES, TtsError, type ErrorCode } from '../../core/errors.js'
import type { RenderedAudio, RenderJob } from '../../core/ports/index.js'
import type { EngineAdapterOptions } from '../adapters/engine-adapter.js'

/** The one argument the host process is started with. */
export const RENDER_HOST_FLAG = '--tts-cache-render-host'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** The first message: how to render (plain data). */
export interface HostInit {
  readonly adapters: EngineAdapterOptions
  /** Engines the service's catalog enabled; any other id is TTS_ERR_UNKNOWN_ENGINE. */
  readonly enabled: readonly string[]
  readonly timeoutMs: number | undefined
  readonly killGraceMs: number | undefined
  readonly soxPath: string | undefined
  /**
   * The lowest level the service's logger writes (pino's `level`); records below it are dropped
   * in the host, not sent over IPC to be dropped there (every render logs at debug). Undefined:
   * all are sent (a logger without a level).
   */
  readonly logLevel?: LogLevel | undefined
}

export type HostRequest =
  | { readonly t: 'render'; readonly id: number; readonly job: RenderJob }
  | { readonly t: 'abort'; readonly id: number }
  /** Run the engine probes (EngineCatalog.detect) and answer with what they printed (`probed`). */
  | { readonly t: 'probe'; readonly id: number; readonly defaultEngine: string }
  /** The engines the service's catalog enabled, once detected (replaces `HostInit.enabled`). */
  | { readonly t: 'enable'; readonly ids: readonly string[] }

/** Each probe's memo key and stdout (ProbeMemo.entries). */
export type ProbeEntries = readonly (readonly [string, string])[]

export interface SerializedError {
  readonly code: ErrorCode | undefined
  readonly message: string
  readonly details: Readonly<Record<string, unknown>> | undefined
  readonly retryAfterSeconds: number | undefined
  readonly stack: string | undefined
}

export type HostReply =
  | { readonly t: 'ok'; readonly id: number; readonly audio: RenderedAudio }
  | { readonly t: 'probed'; readonly id: number; readonly entries: ProbeEntries }
  | { readonly t: 'err'; readonly id: number; readonly error: SerializedError }
  | { readonly t: 'log'; readonly level: LogLevel; readonly obj: Record<string, unknown>; readonly msg: string | undefined }

export function serializeError(err: unknown): SerializedError {
  if (err instanceof TtsError) {
    return { code: err.code, message: err.message, details: err.details, retryAfterSeconds: err.retryAfterSeconds, stack: err.stack }
  }
  const error = err instanceof Error ? err : new Error(String(err))
  return { code: undefined, message: error.message, details: undefined, retryAfterSeconds: undefined, stack: error.stack }
}

/** The TtsError the host threw, with its code, message and details (an untyped error becomes TTS_ERR_INTERNAL). */
export function reviveError(data: SerializedError): TtsError {
  const code = data.code !== undefined && data.code in ERROR_CODES ? data.code : 'TTS_ERR_INTERNAL'
  const error = new TtsError(code, {
    details: data.details ?? {},
    ...(data.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: data.retryAfterSeconds }),
    args: [data.message, data.message],
  })
  error.message = data.message
  if (data.stack !== undefined) error.stack = data.stack
  return error
}

/** What the host child sends on: `process` (its IPC channel to the service). */
export interface HostChannel {
  readonly connected?: boolean
  send?(message: HostReply, sendHandle: undefined, options: undefined, callback: (error: Error | null) => void): boolean
}

/**
 * Sends `message` to the service unless the channel is closed. After the service has gone (its
 * shutdown disconnects; a render being torn down then logs, e.g. sox's EPIPE) a late record is
 * dropped: Node would otherwise emit ERR_IPC_CHANNEL_CLOSED with no listener and crash the host.
 */
export function sendToService(message: HostReply, channel: HostChannel = process as HostChannel): void {
  if (channel.connected !== true || channel.send === undefined) return
  channel.send(message, undefined, undefined, () => undefined)
}
