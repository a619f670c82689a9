import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { ESL_CALL_STATUSES, type EslCallOutcome, type EslCallStatus, type EslCommandOutcome, type EslInboundState, type EslObserver, type EslSide } from '../esl/index.js'

const CALL_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Fine at the bottom: the hit-path goal is p99 ≤ 2 ms. */
const SERVICE_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const INBOUND_STATES: readonly EslInboundState[] = ['connected', 'connecting', 'auth-failed', 'disconnected']

/**
 * Per-label-set counts kept as plain numbers on the hot path and handed to prom-client when
 * /metrics is scraped (`collect`): an outbound call bumps ~8 counters, and prom-client's own
 * inc() hashes the label set (sorts and joins it) on every one of them, bound children included.
 * `key` must identify the label set; `labels` is called once per new key.
 */
class Tally<L extends Record<string, string>> {
  readonly #counts = new Map<string, { readonly labels: L; value: number }>()

  add(key: string, labels: () => L, by = 1): void {
    const count = this.#counts.get(key)
    if (count === undefined) this.#counts.set(key, { labels: labels(), value: by })
    else count.value += by
  }

  /** Sets a counter to the tallies (reset first: prom-client counters only go up). */
  collectInto(counter: Counter<Extract<keyof L, string>>): void {
    counter.reset()
    for (const { labels, value } of this.#counts.values()) counter.inc(labels, value)
  }

  setInto(gauge: Gauge<Extract<keyof L, string>>): void {
    for (const { labels, value } of this.#counts.values()) gauge.set(labels, value)
  }
}

/** The `tts_esl_*` metrics, behind the ESL adapter's own observer port (src/esl/ports.ts). */
export function createEslMetrics(registers: Registry[]): EslObserver {
  const open = new Tally<{ side: EslSide }>()
  const opened = new Tally<{ side: EslSide }>()
  const commands = new Tally<{ side: EslSide; command: string; outcome: EslCommandOutcome }>()
  const calls = new Tally<{ status: EslCallStatus; delivered: string }>()
  for (const side of ['outbound', 'inbound'] as const) open.add(side, () => ({ side }), 0)
  new Gauge({
    name: 'tts_esl_connections',
    help: 'Open ESL connections by side (outbound: FreeSWITCH connected to us, one per call; inbound: our client to FreeSWITCH)',
    labelNames: ['side'] as const,
    registers,
    collect() {
      open.setInto(this)
    },
  })
  new Counter({
    name: 'tts_esl_connections_total',
    help: 'ESL connections opened since start, by side',
    labelNames: ['side'] as const,
    registers,
    collect() {
      opened.collectInto(this)
    },
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
  new Counter({
    name: 'tts_esl_commands_total',
    help: 'ESL commands sent, by side, command word and outcome (ok, refused, timeout, closed)',
    labelNames: ['side', 'command', 'outcome'] as const,
    registers,
    collect() {
      commands.collectInto(this)
    },
  })
  new Counter({
    name: 'tts_esl_results_total',
    help: 'Outbound ESL calls answered, by status written to the channel (hit, rendered, coalesced, timeout, error) and whether it was delivered',
    labelNames: ['status', 'delivered'] as const,
    registers,
    collect() {
      calls.collectInto(this)
    },
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
  // Bound once per status (prom-client still hashes the labels on each observe).
  const serviceByStatus = new Map(ESL_CALL_STATUSES.map((status) => [status, eslServiceSeconds.labels({ status })]))
  const callSecondsByStatus = new Map(ESL_CALL_STATUSES.map((status) => [status, eslCallSeconds.labels({ status })]))
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
    connectionOpened(side: EslSide): void {
      open.add(side, () => ({ side }))
      opened.add(side, () => ({ side }))
    },
    connectionClosed(side: EslSide): void {
      open.add(side, () => ({ side }), -1)
    },
    reconnect(): void {
      eslReconnects.inc()
    },
    inboundState(state: EslInboundState): void {
      for (const s of INBOUND_STATES) eslInboundState.set({ state: s }, s === state ? 1 : 0)
    },
    command(side: EslSide, name: string, outcome: EslCommandOutcome): void {
      commands.add(`${side}\u0000${name}\u0000${outcome}`, () => ({ side, command: name, outcome }))
    },
    answered(status: EslCallStatus, seconds: number): void {
      serviceByStatus.get(status)?.observe(seconds)
    },
    callResult(outcome: EslCallOutcome): void {
      const delivered = outcome.delivered ? 'true' : 'false'
      calls.add(`${outcome.status} ${delivered}`, () => ({ status: outcome.status, delivered }))
      const seconds = callSecondsByStatus.get(outcome.status)
      if (seconds === undefined) eslCallSeconds.observe({ status: outcome.status }, outcome.seconds)
      else seconds.observe(outcome.seconds)
    },
    prewarm(outcome: 'accepted' | 'dropped' | 'invalid'): void {
      eslPrewarm.inc({ outcome })
    },
    protocolError(side: EslSide): void {
      eslProtocolErrors.inc({ side })
    },
  }

}
