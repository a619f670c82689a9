/**
 * The HTTP tests' fake renderer: writes a canonical WAV whose length depends on the text, and can
 * be held (RenderGate) so renders stay in flight as long as a test needs.
 */
import { writeFile } from 'node:fs/promises'
import { TtsError } from '../../src/core/errors.js'
import type { RenderedAudio, RenderJob, Renderer } from '../../src/core/ports/index.js'
import { testWav } from './wav.js'

/**
 * Holds renders so they stay in flight as long as a test needs: `wrap(renderer)` returns a
 * renderer that records each job, then (after `hold()`) waits for `release()` before running.
 */
export class RenderGate {
  readonly started: RenderJob[] = []
  /** Called as each render starts (before any hold). */
  onStart: ((job: RenderJob) => void) | undefined
  #held = false
  #gate: { promise: Promise<void>; open: () => void } | undefined
  #waiters: { count: number; resolve: () => void }[] = []
  #failures: TtsError[] = []

  wrap(inner: Renderer): Renderer {
    return async (job, signal) => {
      this.started.push(job)
      this.onStart?.(job)
      for (const w of this.#waiters.filter((x) => this.started.length >= x.count)) w.resolve()
      this.#waiters = this.#waiters.filter((x) => this.started.length < x.count)
      if (this.#held) {
        this.#gate ??= gate()
        await Promise.race([
          this.#gate.promise,
          new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new TtsError('TTS_ERR_ABORTED')), { once: true })),
        ])
      }
      const failure = this.#failures.shift()
      if (failure !== undefined) throw failure
      return inner(job, signal)
    }
  }

  hold(): void {
    this.#held = true
  }

  /** Lets every held render go on; later renders run at once until the next hold(). */
  release(): void {
    this.#held = false
    this.#gate?.open()
    this.#gate = undefined
  }

  /** The next render fails with this error (after any hold). */
  failNext(error: TtsError): void {
    this.#failures.push(error)
  }

  /** Resolves once `count` renders have started in total. */
  waitForStarted(count: number): Promise<void> {
    if (this.started.length >= count) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ count, resolve }))
  }
}

/** Writes a WAV whose length depends on the text (no engine involved). */
export async function writeFakeWav(job: RenderJob): Promise<RenderedAudio> {
  const samples = 400 + 40 * job.request.text.length
  const wav = testWav(job.request.sampleRate, samples)
  await writeFile(job.outPath, wav)
  return { bytes: wav.length, durationMs: Math.round((samples / job.request.sampleRate) * 1000) }
}

/** The fake renderer: a RenderGate around writeFakeWav. */
export class FakeRenderer extends RenderGate {
  readonly render: Renderer = this.wrap(writeFakeWav)
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}
