/** The cluster tests' fixture engine: counts runs, writes `wavFor(text)`, can be held or made to fail. */
import { writeFile } from 'node:fs/promises'
import type { RenderedAudio, RenderJob } from '../../src/core/ports/index.js'
import { abortError } from '../../src/core/single-flight.js'
import { wavFor } from './wav.js'

interface Gate {
  readonly promise: Promise<void>
  open(): void
}

function gate(): Gate {
  let open: () => void = () => undefined
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/**
 * The fixture engine: counts runs, writes `wavFor(text)`. `hold()` makes every later render wait
 * until `release()`; `nextStart()` resolves when a render starts (tests sequence on it).
 * `failWith(text, error)` makes renders of that text fail.
 */
export class CountingRenderer {
  runs = 0
  readonly runsByText = new Map<string, number>()
  readonly order: string[] = []
  #gate: Gate | undefined
  readonly #startWaiters: { readonly text: string | undefined; readonly resolve: (job: RenderJob) => void }[] = []
  /** Starts nobody has waited for yet, oldest first. */
  readonly #started: RenderJob[] = []
  readonly #failures = new Map<string, () => Error>()

  readonly render = async (job: RenderJob, signal: AbortSignal): Promise<RenderedAudio> => {
    this.runs++
    this.runsByText.set(job.request.text, (this.runsByText.get(job.request.text) ?? 0) + 1)
    this.order.push(job.request.text)
    const index = this.#startWaiters.findIndex((w) => w.text === undefined || w.text === job.request.text)
    if (index === -1) this.#started.push(job)
    else this.#startWaiters.splice(index, 1)[0]?.resolve(job)
    if (this.#gate !== undefined) {
      const held = this.#gate.promise
      await new Promise<void>((resolve, reject) => {
        // As the real pipeline does: an aborted render rejects with the typed abort error.
        const onAbort = (): void => reject(abortError(signal))
        signal.addEventListener('abort', onAbort, { once: true })
        void held.then(() => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        })
      })
    }
    const failure = this.#failures.get(job.request.text)
    if (failure !== undefined) throw failure()
    const wav = wavFor(job.request.text, job.request.sampleRate)
    await writeFile(job.outPath, wav)
    return { bytes: wav.byteLength, durationMs: Math.round(((wav.byteLength - 44) / 2 / job.request.sampleRate) * 1000) }
  }

  hold(): void {
    this.#gate ??= gate()
  }

  release(): void {
    this.#gate?.open()
    this.#gate = undefined
  }

  failWith(text: string, error: () => Error): void {
    this.#failures.set(text, error)
  }

  succeed(text: string): void {
    this.#failures.delete(text)
  }

  /** Resolves with the next render start not yet waited for (of `text`, when given). */
  nextStart(text?: string): Promise<RenderJob> {
    const index = this.#started.findIndex((job) => text === undefined || job.request.text === text)
    if (index !== -1) return Promise.resolve(this.#started.splice(index, 1)[0] as RenderJob)
    return new Promise((resolve) => this.#startWaiters.push({ text, resolve }))
  }
}
