/**
 * FreeSWITCH Event Socket adapter: the per-call `tts_cache` hook (outbound ESL server) and the
 * optional inbound connection for pre-warm events. Our own codec and connection; modesl is not
 * used at runtime (see docs/esl.md for why). This file is the folder's public surface: code
 * outside src/esl/ imports from here.
 *
 *   codec/       bytes <-> frames: frame parser, header blocks, percent-decoding, the CR/LF-safe
 *                command encoder, events, CHANNEL_DATA
 *   connection/  one socket: replies matched to commands, per-reply timeouts, the scheduler
 *                (clock), the protocol-error log
 *   outbound/    the per-call hook: server, session and its stages (call input, the wait for
 *                audio, delivering the variables)
 *   inbound/     the pre-warm client: handshake, reconnect back-off, pre-warm events
 *   ports.ts     what the adapter needs from the core (EslTtsService, EslPrewarm) and reports (EslObserver)
 *   defaults.ts  every ESL default, each with its unit; observe.ts calls the observer safely
 *   allow-list.ts  TTS_ESL_ALLOW: which peers may connect to the hook (CIDRs)
 */
export { EslOutboundServer, type EslOutboundServerOptions, type EslOutboundStats } from './outbound/server.js'
export type { EslCallLogLevel } from './outbound/call-log.js'
export { EslInboundClient, type EslInboundClientOptions, type EslInboundStatus } from './inbound/client.js'
export type {
  EslCallOutcome,
  EslCallStatus,
  EslCommandOutcome,
  EslInboundState,
  EslObserver,
  EslPrewarm,
  EslSide,
  EslTtsService,
} from './ports.js'
export { ESL_CALL_STATUSES } from './ports.js'
export { ESL_DEFAULTS } from './defaults.js'
export { eslAllowListProblem, parseEslAllowList, type EslAllowList } from './allow-list.js'
export type { BackoffOptions } from './inbound/backoff.js'
export { systemScheduler, type Scheduler } from './connection/scheduler.js'
