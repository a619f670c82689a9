import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { ESL_CALL_STATUSES, type EslCallOutcome, type EslCallStatus, type EslCommandOutcome, type EslInboundState, type EslObserver, type EslSide } from '../esl/index.js'

const CALL_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Fine at the bottom: the hit-path goal is p99 ≤ 2 ms. */
const SERVICE_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const INBOUND_STATES: readonly EslInboundState[] = ['connected', 'connecting', 'auth-failed', 'disconnected']

/**
 * The `tts_esl_*` metrics, behind the ESL adapter's own observer port (src/esl/ports.ts): one
 * group of families per concern, registered in this order (the exposition lists them so).
 */
export function createEslMetrics(registers: Registry[]): EslObserver {
  return {
    ...connectionMetrics(registers),
    ...commandMetrics(registers),
    ...callMetrics(registers),
    ...inputMetrics(registers),
  }
}

/** Open connections by side, connections opened, inbound reconnects and the inbound state. */
function connectionMetrics(registers: Registry[]): Pick<Required<EslObserver>, 'connectionOpened' | 'connectionClosed' | 'connectionDenied' | 'reconnect' | 'inboundState'> {
  const eslOpen = new Gauge({
    // Not `tts_esl_connections`: with the counter below that would be one OpenMetrics family.
    name: 'tts_esl_open_connections',
    help: 'Open ESL connections by side (outbound: FreeSWITCH connected to us, one per call; inbound: our client to FreeSWITCH)',
    labelNames: ['side'] as const,
    registers,
  })
  const eslOpened = new Counter({
    name: 'tts_esl_connections_total',
    help: 'ESL connections opened since start, by side',
    labelNames: ['side'] as const,
    registers,
  })
  const eslDenied = new Counter({
    name: 'tts_esl_denied_connections_total',
    help: 'ESL connections from peers outside TTS_ESL_ALLOW, closed at once, by side',
    labelNames: ['side'] as const,
    registers,
  })
  const eslReconnects = new Counter({
    name: 'tts_esl_reconnects_total',
    help: 'Connection attempts of the inbound ESL client after the first one',
    registers,
  })
  const eslInboundState = new Gauge({
    name: 'tts_esl_inbound_state',
    help: 'State of the inbound ESL connection to FreeSWITCH (1 for the current state, 0 for the others)',
    labelNames: ['state'] as const,
    registers,
  })
  for (const side of ['outbound', 'inbound'] as const) eslOpen.set({ side }, 0)
  eslDenied.inc({ side: 'outbound' }, 0)
  return {
    connectionOpened(side: EslSide): void {
      eslOpen.inc({ side })
      eslOpened.inc({ side })
    },
    connectionClosed(side: EslSide): void {
      eslOpen.dec({ side })
    },
    connectionDenied(side: EslSide): void {
      eslDenied.inc({ side })
    },
    reconnect(): void {
      eslReconnects.inc()
    },
    inboundState(state: EslInboundState): void {
      for (const s of INBOUND_STATES) eslInboundState.set({ state: s }, s === state ? 1 : 0)
    },
  }
}

/** ESL commands sent, by side, command word and outcome. */
function commandMetrics(registers: Registry[]): Pick<Required<EslObserver>, 'command'> {
  const eslCommands = new Counter({
    name: 'tts_esl_commands_total',
    help: 'ESL commands sent, by side, command word and outcome (ok, refused, timeout, closed)',
    labelNames: ['side', 'command', 'outcome'] as const,
    registers,
  })
  return {
    command(side: EslSide, name: string, outcome: EslCommandOutcome): void {
      eslCommands.inc({ side, command: name, outcome })
    },
  }
}

/** Outbound calls: their results, session time and service-side time (the hit path). */
function callMetrics(registers: Registry[]): Pick<Required<EslObserver>, 'answered' | 'callResult'> {
  const eslCalls = new Counter({
    name: 'tts_esl_results_total',
    help: 'Outbound ESL calls answered, by status written to the channel (hit, rendered, coalesced, timeout, error) and whether it was delivered',
    labelNames: ['status', 'delivered'] as const,
    registers,
  })
  const eslCallSeconds = new Histogram({
    name: 'tts_esl_call_duration_seconds',
    help: 'Outbound ESL session time, from accepting the connection to its end, by status',
    labelNames: ['status'] as const,
    buckets: CALL_SECONDS_BUCKETS,
    registers,
  })
  const eslServiceSeconds = new Histogram({
    name: 'tts_esl_service_seconds',
    help: 'Outbound ESL service-side time, by status: from the data event that completed CHANNEL_DATA to our write of the channel variables (what FreeSWITCH waits on us, without its own round trips)',
    labelNames: ['status'] as const,
    buckets: SERVICE_SECONDS_BUCKETS,
    registers,
  })
  // Bound once per status: observe() on the hot path then skips hashing the label set.
  const serviceByStatus = new Map(ESL_CALL_STATUSES.map((status) => [status, eslServiceSeconds.labels({ status })]))
  return {
    answered(status: EslCallStatus, seconds: number): void {
      serviceByStatus.get(status)?.observe(seconds)
    },
    callResult(outcome: EslCallOutcome): void {
      eslCalls.inc({ status: outcome.status, delivered: String(outcome.delivered) })
      eslCallSeconds.observe({ status: outcome.status }, outcome.seconds)
    },
  }
}

/** What FreeSWITCH sent us outside a call: pre-warm CUSTOM events and malformed input. */
function inputMetrics(registers: Registry[]): Pick<Required<EslObserver>, 'prewarm' | 'protocolError'> {
  const eslPrewarm = new Counter({
    name: 'tts_esl_prewarm_events_total',
    help: 'Pre-warm requests received as FreeSWITCH CUSTOM events, by outcome (accepted, dropped, invalid)',
    labelNames: ['outcome'] as const,
    registers,
  })
  const eslProtocolErrors = new Counter({
    name: 'tts_esl_protocol_errors_total',
    help: 'Malformed or oversized input from FreeSWITCH (the connection is closed), by side',
    labelNames: ['side'] as const,
    registers,
  })
  return {
    prewarm(outcome: 'accepted' | 'dropped' | 'invalid'): void {
      eslPrewarm.inc({ outcome })
    },
    protocolError(side: EslSide): void {
      eslProtocolErrors.inc({ side })
    },
  }
}
