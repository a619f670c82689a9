/**
 * Every default of the service in one place, each with its unit in the name.
 * Config parsing (src/config) starts from these; nothing else hard-codes a default.
 */
/**
 * Renders at once for a configured `renderConcurrency` (0: two per core). Two per core, not one:
 * a render's wall time is mostly waiting — starting two processes, the pipe, fsyncs — so one
 * per core left the CPU idle while misses queued (load/RESULTS.md `mixed`: 0.6 of 2 cores busy,
 * 0.8 s mean queue wait at 2 slots; 22 ms at 4). The engines run at a lower priority than the
 * service (ENGINE_DEFAULTS.renderNiceness), so the extra renders do not slow hits.
 */
export function renderSlotsFor(configured: number, cores: number): number {
  return configured > 0 ? configured : 2 * Math.max(1, cores)
}

export const DEFAULTS = Object.freeze({
  cacheDir: '/var/lib/tts-cache',
  maxCacheBytes: 1024 ** 3,
  /** 0 disables age-based expiry. */
  maxAgeMs: 0,
  engine: 'espeak-ng',
  /** Empty means "the engine's own default voice". */
  voice: '',
  sampleRate: 8000,
  maxTextChars: 2000,
  /** 0 means "two per CPU core" (resolved at start by renderSlotsFor). */
  renderConcurrency: 0,
  queueLimit: 1000,
  renderTimeoutMs: 10_000,
  /** Grace between SIGTERM and SIGKILL for an engine process group. */
  killGraceMs: 500,
  scanConcurrency: 32,
  /** Free space on the cache's file system below which `/readyz` is degraded (bytes; 0: never). */
  minFreeBytes: 64 * 1024 ** 2,
  /** A lock file older than this whose owner pid is not alive is stale. */
  staleLockMs: 30_000,
  eslHost: '127.0.0.1',
  eslPort: 8040,
  eslDeadlineMs: 2500,
  /** Upper clamp for a call's own tts_cache_deadline_ms (FreeSWITCH gives up on a silent peer at ~25 s). */
  eslMaxDeadlineMs: 20_000,
  /** The one line per outbound ESL call (uuid, status, key, ms): its level, or off (`error` calls warn regardless). */
  eslCallLog: 'info',
  /**
   * TTS_ESL_ALLOW: peers allowed to connect to the ESL hook (CIDRs). Loopback only: FreeSWITCH on
   * the same host (and in compose, sharing the service's network namespace) connects from there.
   */
  eslAllow: '127.0.0.0/8,::1/128',
  /**
   * How long an HTTP request may wait for its audio (queue, lock, render) before it is answered
   * 504 TTS_ERR_DEADLINE_EXCEEDED with Retry-After; the render goes on. The ESL deadline plus the
   * render timeout: a request that found a free slot still gets the engine's own outcome.
   */
  httpDeadlineMs: 12_500,
  httpHost: '127.0.0.1',
  httpPort: 8080,
  /**
   * Listening sockets per port (a SO_REUSEPORT group; Linux): libuv accepts one connection per
   * event-loop turn and socket, so a burst of new connections onto a busy service waits a turn
   * each. 64: 256 connections opened together onto a saturated service were all accepted within
   * ~0.5 s, against several seconds with one socket (src/net/accept-group.ts).
   */
  acceptSockets: 64,
  fsEslPort: 8021,
  fsEslPassword: 'ClueCon',
  prewarmMaxItems: 10_000,
  bodyLimitBytes: 1024 * 1024,
  /**
   * Memory for HTTP's copies of hot WAVs (0: always stream from disk). 4 MiB: the hottest few dozen
   * prompts; with 32 MiB the k6 mixed load took RSS to 185 MiB (issue 19, goal 4: ≤ 150 MiB).
   */
  httpHotBytes: 4 * 1024 ** 2,
  /**
   * Seconds the nginx front may keep a /v1/tts hit's X-Accel-Redirect answer (the query → key
   * lookup) before asking the service again (X-Accel-Expires; 0: never kept).
   */
  httpAccelLookupSeconds: 30,
  /** Larger WAVs are always streamed from disk. */
  httpHotFileMaxBytes: 1024 ** 2,
  /** After the HTTP API listens, wait this long before compiling the route schemas no request compiled yet (ms). */
  httpSchemaCompileDelayMs: 1000,
  /**
   * After `serve` listens, wait this long before its background work: the start-up scan of the
   * cache directory and the re-check of the engine probes it replayed (ms). The first calls and
   * requests after a restart come at once (FreeSWITCH retries) and are answered from disk meanwhile.
   */
  serveBackgroundWorkDelayMs: 1000,
  shutdownGraceMs: 10_000,
  /**
   * The event loop blocked this long (ms) gets the process SIGKILLed by its watchdog thread, and a
   * `serve --supervise` child that beats no more for this long is SIGKILLed and restarted: callers
   * then hear the fallback within this plus ~0.3 s, not after FreeSWITCH's 25 s. 0 disables both.
   */
  watchdogMs: 1500,
  /** `serve --supervise`: a child not ready this long after its start (ms) is killed and started again. */
  superviseStartTimeoutMs: 60_000,
  /** `serve --supervise`: the longest back-off before restarting a child that keeps exiting (ms). */
  superviseMaxRestartDelayMs: 5000,
  /** A Redis command on a serving node (and a worker's audio write) with no reply by then fails; probes (PING) use it too. */
  redisCommandTimeoutMs: 1000,
  /** A TCP connect to Redis (or a Sentinel) that takes longer counts as failed and is retried. */
  redisConnectTimeoutMs: 2000,
  logLevel: 'info',
} as const)

/** Sample rates we accept (Hz): the rates FreeSWITCH codecs run at. */
export const SAMPLE_RATES = Object.freeze([8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000] as const)

/** Output format of every cached file. Part of the cache key. */
export const AUDIO_FORMAT = 'wav-pcm16-mono' as const
export type AudioFormat = typeof AUDIO_FORMAT
