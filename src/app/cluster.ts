/** The cluster (Redis + BullMQ) path: what buildApp and the `worker` CLI command use. */
export { clusterSettingsFrom, redisConfigured, redisTargetFrom, type ClusterConfig, type ClusterSettings, type RedisTopologyConfig } from './cluster-settings.js'
export type { RedisTarget } from '../redis/redis-target.js'
export { ClusterQueue, createClusterQueue, type CreateClusterQueueOptions } from './cluster-queue.js'
export { startWorker, type RenderWorkerHandle, type StartWorkerOptions, type WorkerTuning } from './build-worker.js'
export type { Renderer } from '../core/ports/index.js'
export { redisSharedAudio, sharedAudioTier, type SharedAudioSource, type SharedAudioTierSettings } from './shared-audio-tier.js'
export type { AudioTransport } from '../core/ports/index.js'
export type { BackendCounts } from '../queue/fallback-render-queue.js'
