/**
 * FreeSWITCH Event Socket adapter: the per-call `tts_cache` hook (outbound ESL server) and the
 * optional inbound connection for pre-warm events. Our own codec and connection; modesl is not
 * used at runtime (see docs/esl.md for why).
 */
export { EslOutboundServer, type EslOutboundServerOptions, type EslOutboundStats } from './outbound/server.js'
export { EslInboundClient, type EslInboundClientOptions, type EslInboundStatus } from './inbound/client.js'
export type {
  EslCallOutcome,
  EslCallStatus,
  EslCommandOutcome,
  EslInboundState,
  EslObserver,
  EslSide,
  EslTtsService,
} from './ports.js'
export { ESL_CALL_STATUSES } from './ports.js'
export { ESL_DEFAULTS } from './defaults.js'
export type { BackoffOptions } from './inbound/backoff.js'
export { systemScheduler, type Scheduler } from './connection/scheduler.js'
