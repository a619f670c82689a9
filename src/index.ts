/**
 * The package's public entry (package.json "main"/"exports" → dist/index.js): what a program using
 * the cache as a library may import — and all that the benchmarks under load/ import. Everything
 * else under dist/ is internal and may move between releases.
 *
 * - Build and run: buildApp (the one composition root; its overrides take any port), startServer
 *   (the ESL hook and HTTP API on an app), startWorker (a render worker, as `tts-cache worker`).
 * - Configuration: loadConfig (files, environment, overrides → a validated Config).
 * - Cache layout, for tools that write or read a cache directory: cacheKeyFor, AUDIO_FORMAT,
 *   parseWavHeader, PROBE_MEMO_FILE.
 * - The ESL interface, for tools that serve it with their own observer: EslOutboundServer.
 */
export { buildApp, loadConfig, startServer, type App, type AppOverrides, type Config, type QueueParts, type ReadinessProbe, type RunningServer } from './app/index.js'
export { startWorker, type RenderWorkerHandle, type StartWorkerOptions, type WorkerTuning } from './app/build-worker.js'
export type { ClusterConfig } from './app/cluster-settings.js'
export { createLogger, type LoggerOptions } from './logger.js'
export { cacheKeyFor } from './core/cache-key.js'
export { AUDIO_FORMAT } from './core/defaults.js'
export { TtsError } from './core/errors.js'
export type { PhraseRequest } from './core/phrase.js'
export type { TtsService } from './core/tts-service.js'
export type { EngineCatalog, Logger, RenderedAudio, RenderJob, Renderer } from './core/ports/index.js'
export { parseWavHeader, WAV_HEADER_PROBE_BYTES, type WavCheck, type WavInfo } from './audio/wav.js'
export { PROBE_MEMO_FILE } from './engines/probe-memo.js'
export { EslOutboundServer, type EslCallOutcome, type EslCallStatus, type EslObserver } from './esl/index.js'
