/**
 * Wraps the real renderer (espeak-ng → sox → validate) so a test decides when a render may
 * start: `hold()` parks every render that reaches the renderer until `release()`, then the
 * real engine runs. Nothing is faked: the audio, the temp file, the rename into the cache and
 * the single-flight bookkeeping are the app's own. Installed through buildApp's
 * `overrides.wrapRenderer`, i.e. inside the in-process pool (so at most `renderConcurrency`
 * renders are parked at once; the rest wait in the pool's queue).
 */
import { TtsError } from '../../../src/core/errors.js'
import type { RenderJob, Renderer } from '../../../src/core/ports/index.js'

export class EslRenderGate {
  /** Every job that reached the renderer, in order (held or not). */
  readonly started: RenderJob[] = []
  #held = false
  #parked: { open: () => void }[] = []

  /** Renders parked right now. */
  get heldCount(): number {
    return this.#parked.length
  }

  hold(): void {
    this.#held = true
  }

  /** Lets every parked render run; later renders run at once until the next hold(). */
  release(): void {
    this.#held = false
    for (const parked of this.#parked.splice(0)) parked.open()
  }

  wrap(inner: Renderer): Renderer {
    return async (job, signal) => {
      this.started.push(job)
      if (this.#held) await this.#park(signal)
      return inner(job, signal)
    }
  }

  #park(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const parked = {
        open: () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      const onAbort = (): void => {
        this.#parked = this.#parked.filter((p) => p !== parked)
        reject(new TtsError('TTS_ERR_ABORTED', { cause: signal.reason }))
      }
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      this.#parked.push(parked)
    })
  }
}
