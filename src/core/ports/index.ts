/**
 * The ports the core needs, one file each. Adapters (src/store, src/engines, src/queue) implement
 * them; the core never imports an adapter. Import from here (`core/ports/index.js`).
 */
export type { AudioStore, CacheEntry, ClaimOptions, ClaimResult, DescribedEntry, EntryFilter, EntryMeta, RenderSlot, StoreStats } from './audio-store.js'
export { systemClock, type Clock } from './clock.js'
export type { EngineCatalog } from './engine-catalog.js'
export type { Logger } from './logger.js'
export {
  noopHttpObserver,
  noopRenderPoolObserver,
  type HttpObserver,
  type RenderPoolObserver,
  type RequestSource,
  type ResultStatus,
  type TtsObserver,
} from './observers.js'
export type { ReadinessCheck, ReadinessReport } from './readiness.js'
export type { Priority, QueueStats, RenderOptions, RenderQueue } from './render-queue.js'
export type { RenderedAudio, Renderer, RenderJob } from './renderer.js'
export type { AudioTransport, SharedAudio, SharedDelivery, SharedWav, StagedWav } from './shared-audio.js'
