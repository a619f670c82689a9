/**
 * The ESL adapter's own port: what it needs from the core, and what it reports for metrics.
 * Nothing outside src/esl sees a socket, a frame or modesl.
 */
import type { ErrorCode } from '../core/errors.js'
import type { PrewarmBatches } from '../core/prewarm-batches.js'
import type { TtsService } from '../core/tts-service.js'

/**
 * The TtsService methods the ESL adapter calls (a narrow port, easy to fake): resolve, then hit
 * (a cached file, at once), else getAfterMiss (or get, which says why an invalid input is invalid).
 */
export type EslTtsService = Pick<TtsService, 'resolve' | 'hit' | 'get' | 'getAfterMiss'>

/** Where the inbound client sends CUSTOM pre-warm events: the app's one pre-warm tracker (a request per event). */
export type EslPrewarm = Pick<PrewarmBatches, 'request'>

/** `tts_cache_status` as written to the channel. Fixed words: never caller text. */
export type EslCallStatus = 'hit' | 'rendered' | 'coalesced' | 'timeout' | 'error'

export const ESL_CALL_STATUSES: readonly EslCallStatus[] = Object.freeze(['hit', 'rendered', 'coalesced', 'timeout', 'error'])

/** Which ESL role a connection plays. */
export type EslSide = 'outbound' | 'inbound'

/** How one command ended. `refused` = FreeSWITCH answered -ERR. */
export type EslCommandOutcome = 'ok' | 'refused' | 'timeout' | 'closed'

/** Readiness of the inbound connection to mod_event_socket. */
export type EslInboundState = 'connected' | 'connecting' | 'auth-failed' | 'disconnected'

/**
 * How one outbound call ended. `delivered` is false when the channel was gone before the
 * variables could be written (hangup, FreeSWITCH closed, write refused).
 */
export interface EslCallOutcome {
  readonly uuid: string | undefined
  readonly status: EslCallStatus
  readonly delivered: boolean
  readonly hungUp: boolean
  readonly key: string | undefined
  readonly path: string | undefined
  readonly errorCode: ErrorCode | undefined
  /** From accepting the connection to the end of the session. */
  readonly seconds: number
}

/**
 * Metrics hooks. Every method optional; an observer that throws is logged and ignored
 * (it can never break a call).
 */
export interface EslObserver {
  connectionOpened?(side: EslSide): void
  connectionClosed?(side: EslSide): void
  /** A peer outside TTS_ESL_ALLOW, closed before any byte was read. */
  connectionDenied?(side: EslSide): void
  /** An inbound connection attempt after the first one. */
  reconnect?(): void
  inboundState?(state: EslInboundState): void
  /** `name` is the command word only (`api uuid_setvar`, `sendmsg`, `auth`…), never its arguments. */
  command?(side: EslSide, name: string, outcome: EslCommandOutcome): void
  /**
   * Service-side time of one outbound call, i.e. how long FreeSWITCH waited on us: from the
   * `data` event that completed the CHANNEL_DATA reply (before our codec parsed it) to the
   * moment our write of the channel variables (+ `exit` when pipelined) was handed to the
   * socket. It covers parsing, the lookup (or the render and its queue wait), encoding and the
   * write call; not FreeSWITCH's round trips, not the TCP accept, not event-loop lag before the
   * `data` event (the load generator's time-to-tts_file shows those). Called once per call that
   * got its variables written; not for hangups, connect failures or malformed data.
   */
  answered?(status: EslCallStatus, seconds: number): void
  /** One per outbound call, by the status written (or that would have been written). */
  callResult?(outcome: EslCallOutcome): void
  /** A pre-warm request from a CUSTOM event. */
  prewarm?(outcome: 'accepted' | 'dropped' | 'invalid'): void
  /** Malformed or oversized bytes from FreeSWITCH (the connection is closed). */
  protocolError?(side: EslSide): void
}
