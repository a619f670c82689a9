import type { PhraseRequest } from '../phrase.js'

/** One render: write the audio for `request` at `outPath` (a WAV PCM16 mono at request.sampleRate). */
export interface RenderJob {
  readonly key: string
  readonly request: PhraseRequest
  readonly engineVersion: string
  readonly outPath: string
}

/** What a finished render measured about the file it wrote. */
export interface RenderedAudio {
  readonly bytes: number
  readonly durationMs: number
  /**
   * How a queue backend produced it, when not simply by rendering for this request: `joined`
   * a render another cluster node had already started (reported as `coalesced`), or copied
   * from audio the cluster had already `cached` (reported as `hit`). Absent means rendered.
   */
  readonly origin?: 'rendered' | 'joined' | 'cached' | undefined
}

/**
 * Renders one job: writes the WAV at `job.outPath` and reports what it measured. Must settle
 * promptly once `signal` aborts (the engine renderer kills the engine's process tree; the render
 * host kills its child). A render queue runs one; the engine catalog's adapters make the real one
 * (src/engines/engine-renderer.ts), tests pass fakes.
 */
export type Renderer = (job: RenderJob, signal: AbortSignal) => Promise<RenderedAudio>
