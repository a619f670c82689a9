/** The cluster (Redis + BullMQ) path: what buildApp and the `worker` CLI command use. */
export { clusterSettingsFrom, type ClusterConfig, type ClusterSettings } from './cluster-settings.js'
export { ClusterQueue, createClusterQueue, type CreateClusterQueueOptions } from './cluster-queue.js'
export { startWorker, type RenderWorkerHandle, type StartWorkerOptions, type WorkerTuning } from './start-worker.js'
export type { Renderer } from '../queue/bullmq-render-worker.js'
export type { AudioTransport } from '../queue/bullmq-job-codec.js'
export type { BackendCounts } from '../queue/fallback-render-queue.js'
