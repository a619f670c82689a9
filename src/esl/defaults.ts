import { DEFAULTS } from '../core/defaults.js'

/**
 * Every ESL default in one object, each with its unit. Host/port/deadline/password come from
 * the core DEFAULTS (the config schema starts from those); the rest are ESL-only tuning knobs.
 */
export const ESL_DEFAULTS = Object.freeze({
  outboundHost: DEFAULTS.eslHost,
  outboundPort: DEFAULTS.eslPort,
  /** How long a call waits for its WAV before it gets the fallback (status `timeout`). */
  deadlineMs: DEFAULTS.eslDeadlineMs,
  /** Upper clamp for `tts_cache_deadline_ms` set per call. */
  maxDeadlineMs: DEFAULTS.eslMaxDeadlineMs,
  /** From accepting FreeSWITCH's connection to receiving its CHANNEL_DATA reply. */
  connectTimeoutMs: 2_000,
  /** Per command: from the moment a command is at the head of the reply queue to its reply. */
  commandTimeoutMs: 2_000,
  /** After `exit`: how long we wait for FreeSWITCH to close before we destroy the socket. */
  closeTimeoutMs: 1_000,
  /** Concurrent outbound sessions; more are closed at once (FreeSWITCH then plays the fallback). */
  maxConnections: 4_000,
  /** Listening sockets for the hook's port (TTS_ACCEPT_SOCKETS; src/net/accept-group.ts). */
  acceptSockets: DEFAULTS.acceptSockets,
  /** Largest header block we buffer (CHANNEL_DATA is ~3.6 KB; a channel with many variables more). */
  maxHeaderBytes: 256 * 1024,
  /** Largest Content-Length we accept. */
  maxBodyBytes: 4 * 1024 * 1024,
  /** Send the variable writes and `exit` in one TCP write (see docs/esl.md). */
  pipeline: true,
  /** The one line per call: TTS_ESL_CALL_LOG (outbound/call-log.ts). */
  callLog: DEFAULTS.eslCallLog,

  inboundPort: DEFAULTS.fsEslPort,
  inboundPassword: DEFAULTS.fsEslPassword,
  /** FreeSWITCH sends HEARTBEAT every 20 s by default; silence this long means a dead peer. */
  heartbeatTimeoutMs: 60_000,
  /** TCP keepalive probe delay on the inbound socket. */
  keepAliveInitialDelayMs: 15_000,
  /** Back-off: initial * multiplier^n, capped, then reduced by up to jitterRatio (never below half). */
  backoffInitialDelayMs: 500,
  backoffMaxDelayMs: 30_000,
  backoffMultiplier: 2,
  backoffJitterRatio: 0.5,
  /** A connection that lived this long resets the back-off to its initial delay. */
  stableConnectionMs: 10_000,
  /** Pre-warm requests from CUSTOM events in flight at once; more are dropped (logged). */
  maxPrewarmInFlight: 256,
  prewarmSubclass: 'tts_cache::prewarm',
} as const)
