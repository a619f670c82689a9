import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { QueueStats, StoreStats } from '../../src/core/ports/index.js'
import { Metrics } from '../../src/observability/metrics.js'

/** The value of one sample line (`name{labels} value`) in the Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    if (line.slice(0, at) === series) return Number(line.slice(at + 1))
  }
  return undefined
}

const storeStats: StoreStats = { entries: 3, bytes: 3000, pinnedEntries: 1, pinnedBytes: 1000, maxBytes: 10_000, evictions: 0 }
const queueStats: QueueStats = { waiting: 4, active: 2, concurrency: 2, limit: 50, drainPerSecond: 1.5 }

describe('Metrics', () => {
  it('keeps its own registry, so two instances in one process do not collide', async () => {
    const a = new Metrics({ defaultMetrics: false })
    const b = new Metrics({ defaultMetrics: false })
    a.tts.result?.('http', 'hit', 0.001)
    expect(sample(await a.text(), 'tts_requests_total{source="http",result="hit"}')).toBe(1)
    expect(sample(await b.text(), 'tts_requests_total{source="http",result="hit"}')).toBeUndefined()
    expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
  })

  it('counts requests by source and result, errors by code, and coalesced waiters', async () => {
    const m = new Metrics({ defaultMetrics: false })
    m.tts.result?.('http', 'rendered', 0.5)
    m.tts.result?.('esl', 'hit', 0.001)
    m.tts.result?.('esl', 'coalesced', 0.2)
    m.tts.coalesced?.('esl')
    m.tts.failure?.('http', 'TTS_ERR_OVERLOADED')
    m.http.errorResponse('TTS_ERR_UNAUTHORIZED')
    const text = await m.text()
    expect(sample(text, 'tts_requests_total{source="http",result="rendered"}')).toBe(1)
    expect(sample(text, 'tts_requests_total{source="esl",result="hit"}')).toBe(1)
    expect(sample(text, 'tts_requests_total{source="esl",result="coalesced"}')).toBe(1)
    expect(sample(text, 'tts_requests_total{source="http",result="error"}')).toBe(1)
    expect(sample(text, 'tts_coalesced_waiters_total{source="esl"}')).toBe(1)
    expect(sample(text, 'tts_errors_total{source="http",code="TTS_ERR_OVERLOADED"}')).toBe(1)
    expect(sample(text, 'tts_errors_total{source="http",code="TTS_ERR_UNAUTHORIZED"}')).toBe(1)
    expect(sample(text, 'tts_request_duration_seconds_count{source="http",result="rendered"}')).toBe(1)
  })

  it('records renders by engine and result, their duration, failures by code and the queue wait', async () => {
    const m = new Metrics({ defaultMetrics: false })
    m.renderPool.renderFinished('espeak-ng', 0.3, true)
    m.renderPool.renderFinished('espeak-ng', 10, false, 'TTS_ERR_RENDER_TIMEOUT')
    m.renderPool.queueWait(0.02)
    const text = await m.text()
    expect(sample(text, 'tts_renders_total{engine="espeak-ng",result="ok"}')).toBe(1)
    expect(sample(text, 'tts_renders_total{engine="espeak-ng",result="error"}')).toBe(1)
    expect(sample(text, 'tts_render_failures_total{engine="espeak-ng",code="TTS_ERR_RENDER_TIMEOUT"}')).toBe(1)
    expect(sample(text, 'tts_render_duration_seconds_bucket{le="0.5",engine="espeak-ng",result="ok"}')).toBe(1)
    expect(sample(text, 'tts_queue_wait_seconds_count')).toBe(1)
  })

  it('reads the cache and queue gauges from stats() at scrape time', async () => {
    let stats = storeStats
    const m = new Metrics({ defaultMetrics: false, store: { stats: () => stats } })
    m.watchQueue({ stats: () => queueStats })
    let text = await m.text()
    expect(sample(text, 'tts_cache_entries')).toBe(3)
    expect(sample(text, 'tts_cache_bytes')).toBe(3000)
    expect(sample(text, 'tts_cache_pinned_entries')).toBe(1)
    expect(sample(text, 'tts_cache_pinned_bytes')).toBe(1000)
    expect(sample(text, 'tts_cache_max_bytes')).toBe(10_000)
    expect(sample(text, 'tts_queue_depth{state="waiting"}')).toBe(4)
    expect(sample(text, 'tts_queue_depth{state="active"}')).toBe(2)
    expect(sample(text, 'tts_queue_concurrency')).toBe(2)
    expect(sample(text, 'tts_queue_limit')).toBe(50)
    expect(sample(text, 'tts_queue_drain_per_second')).toBe(1.5)
    stats = { ...storeStats, entries: 7, evictions: 5 }
    text = await m.text()
    expect(sample(text, 'tts_cache_entries')).toBe(7)
    expect(sample(text, 'tts_cache_evictions_total')).toBe(5)
    stats = { ...stats, evictions: 6 }
    expect(sample(await m.text(), 'tts_cache_evictions_total')).toBe(6)
  })

  it('still answers a scrape when a stats source throws, and reports the failure', async () => {
    const failures: string[] = []
    const m = new Metrics({
      defaultMetrics: false,
      store: {
        stats: () => {
          throw new Error('disk gone')
        },
      },
      queue: { stats: () => queueStats },
      onCollectError: (err, source) => failures.push(`${source}: ${(err as Error).message}`),
    })
    const text = await m.text()
    expect(sample(text, 'tts_queue_limit')).toBe(50)
    // The gauge keeps its last value (never set here: 0) instead of failing the scrape.
    expect(sample(text, 'tts_cache_entries')).toBe(0)
    expect(failures[0]).toBe('store: disk gone')
  })

  it('implements the ESL observer: open connections, reconnects, inbound state, commands and call results', async () => {
    const m = new Metrics({ defaultMetrics: false })
    m.esl.connectionOpened?.('outbound')
    m.esl.connectionOpened?.('outbound')
    m.esl.connectionClosed?.('outbound')
    m.esl.connectionOpened?.('inbound')
    m.esl.reconnect?.()
    m.esl.reconnect?.()
    m.esl.inboundState?.('connecting')
    m.esl.inboundState?.('connected')
    m.esl.command?.('outbound', 'sendmsg', 'ok')
    m.esl.callResult?.({ uuid: 'u', status: 'hit', delivered: true, hungUp: false, key: undefined, path: undefined, errorCode: undefined, seconds: 0.01 })
    m.esl.answered?.('hit', 0.0003)
    m.esl.answered?.('timeout', 3)
    m.esl.prewarm?.('accepted')
    m.esl.protocolError?.('inbound')
    const text = await m.text()
    expect(sample(text, 'tts_esl_open_connections{side="outbound"}')).toBe(1)
    expect(sample(text, 'tts_esl_open_connections{side="inbound"}')).toBe(1)
    expect(sample(text, 'tts_esl_connections_total{side="outbound"}')).toBe(2)
    expect(sample(text, 'tts_esl_reconnects_total')).toBe(2)
    expect(sample(text, 'tts_esl_inbound_state{state="connected"}')).toBe(1)
    expect(sample(text, 'tts_esl_inbound_state{state="connecting"}')).toBe(0)
    expect(sample(text, 'tts_esl_commands_total{side="outbound",command="sendmsg",outcome="ok"}')).toBe(1)
    expect(sample(text, 'tts_esl_results_total{status="hit",delivered="true"}')).toBe(1)
    expect(sample(text, 'tts_esl_service_seconds_bucket{le="0.00025",status="hit"}')).toBe(0)
    expect(sample(text, 'tts_esl_service_seconds_bucket{le="0.0005",status="hit"}')).toBe(1)
    expect(sample(text, 'tts_esl_service_seconds_count{status="timeout"}')).toBe(1)
    expect(sample(text, 'tts_esl_service_seconds_bucket{le="2.5",status="timeout"}')).toBe(0)
    expect(sample(text, 'tts_esl_prewarm_events_total{outcome="accepted"}')).toBe(1)
    expect(sample(text, 'tts_esl_protocol_errors_total{side="inbound"}')).toBe(1)
  })

  it('reads the ESL call counters at scrape time: a second scrape counts nothing twice, later calls add up', async () => {
    const m = new Metrics({ defaultMetrics: false })
    m.esl.connectionOpened?.('outbound')
    m.esl.command?.('outbound', 'api', 'ok')
    m.esl.command?.('outbound', 'api', 'ok')
    m.esl.command?.('outbound', 'exit', 'refused')
    const first = await m.text()
    const second = await m.text()
    for (const text of [first, second]) {
      expect(sample(text, 'tts_esl_open_connections{side="outbound"}')).toBe(1)
      expect(sample(text, 'tts_esl_connections_total{side="outbound"}')).toBe(1)
      expect(sample(text, 'tts_esl_commands_total{side="outbound",command="api",outcome="ok"}')).toBe(2)
      expect(sample(text, 'tts_esl_commands_total{side="outbound",command="exit",outcome="refused"}')).toBe(1)
    }
    m.esl.command?.('outbound', 'api', 'ok')
    m.esl.connectionClosed?.('outbound')
    m.esl.callResult?.({ uuid: 'u', status: 'rendered', delivered: false, hungUp: true, key: undefined, path: undefined, errorCode: undefined, seconds: 0.2 })
    const third = await m.text()
    expect(sample(third, 'tts_esl_commands_total{side="outbound",command="api",outcome="ok"}')).toBe(3)
    expect(sample(third, 'tts_esl_open_connections{side="outbound"}')).toBe(0)
    expect(sample(third, 'tts_esl_connections_total{side="outbound"}')).toBe(1)
    expect(sample(third, 'tts_esl_results_total{status="rendered",delivered="false"}')).toBe(1)
    expect(sample(third, 'tts_esl_call_duration_seconds_count{status="rendered"}')).toBe(1)
  })

  it('counts HTTP responses by method, route template and status', async () => {
    const m = new Metrics({ defaultMetrics: false })
    m.http.requestFinished('GET', '/v1/audio/:file', 200, 0.002)
    m.http.requestFinished('GET', 'unmatched', 404, 0.001)
    const text = await m.text()
    expect(sample(text, 'tts_http_requests_total{method="GET",route="/v1/audio/:file",status_code="200"}')).toBe(1)
    expect(sample(text, 'tts_http_requests_total{method="GET",route="unmatched",status_code="404"}')).toBe(1)
  })

  it('exports process metrics unless told not to', async () => {
    expect(await new Metrics().text()).toContain('process_cpu_user_seconds_total')
    expect(await new Metrics({ defaultMetrics: false }).text()).not.toContain('process_cpu_user_seconds_total')
  })

  it('exposes no two families that OpenMetrics reads as one (a name and the same name + _total)', async () => {
    const text = await new Metrics().text()
    const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!)
    expect(families.length).toBeGreaterThan(20)
    const names = new Set(families)
    expect(families.filter((name) => names.has(`${name}_total`))).toEqual([])
  })

  it('exports tts_build_info = 1 with the package version and the Node.js version', async () => {
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
    const text = await new Metrics({ defaultMetrics: false }).text()
    expect(text).toContain('# TYPE tts_build_info gauge')
    expect(sample(text, `tts_build_info{version="${version}",node="${process.versions.node}"}`)).toBe(1)
  })

  it('lists every tts_* family in docs/http.md', async () => {
    const docs = readFileSync(new URL('../../docs/http.md', import.meta.url), 'utf8')
    const text = await new Metrics({ defaultMetrics: false }).text()
    const families = [...text.matchAll(/^# TYPE (tts_\S+) /gm)].map((m) => m[1]!)
    expect(families.filter((name) => !docs.includes(`\`${name}\``))).toEqual([])
  })
})
