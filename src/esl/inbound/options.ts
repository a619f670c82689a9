import type { ErrorCode } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import type { BackoffOptions } from './backoff.js'
import type { EslInboundState, EslObserver, EslPrewarm } from '../ports.js'
import type { PrewarmStats } from './prewarm-events.js'
import type { Scheduler } from '../connection/scheduler.js'

export interface EslInboundClientOptions {
  /** FS_ESL_HOST (the client is only built when it is set). */
  readonly host: string
  /** FS_ESL_PORT, default 8021. */
  readonly port?: number | undefined
  /** FS_ESL_PASSWORD. Never logged, never in an error message or in state(). */
  readonly password: string
  /** The app's pre-warm tracker: each CUSTOM pre-warm event becomes one request to it. */
  readonly prewarm: EslPrewarm
  readonly logger: Logger
  readonly observer?: EslObserver | undefined
  /** Reconnect when nothing (not even HEARTBEAT, every 20 s by default) arrived for this long. */
  readonly heartbeatTimeoutMs?: number | undefined
  /** TCP connect + banner. */
  readonly connectTimeoutMs?: number | undefined
  readonly commandTimeoutMs?: number | undefined
  readonly keepAliveInitialDelayMs?: number | undefined
  /** A connection that lived this long resets the back-off. */
  readonly stableConnectionMs?: number | undefined
  readonly backoff?: Partial<BackoffOptions> | undefined
  /** Pre-warm events in flight at once; more are dropped. */
  readonly maxPrewarmInFlight?: number | undefined
  readonly prewarmSubclass?: string | undefined
  readonly maxHeaderBytes?: number | undefined
  readonly maxBodyBytes?: number | undefined
  /** Injected timers (tests drive back-off and the watchdog with a manual clock). */
  readonly scheduler?: Scheduler | undefined
  /** Jitter source in [0, 1). */
  readonly random?: (() => number) | undefined
}

/** Readiness of the inbound connection. The password is never part of it. */
export interface EslInboundStatus {
  readonly state: EslInboundState
  readonly lastError: { readonly code: ErrorCode; readonly message: string } | undefined
  /** Connection attempts so far (the first one included). */
  readonly attempts: number
  /** Attempts after the first. */
  readonly reconnects: number
  /** Scheduler time of the current connection, when connected. */
  readonly connectedAtMs: number | undefined
  /** Delay until the next attempt, when one is scheduled. */
  readonly nextAttemptInMs: number | undefined
  /** Scheduler time of the last HEARTBEAT received. */
  readonly lastHeartbeatAtMs: number | undefined
  readonly prewarm: PrewarmStats
}
