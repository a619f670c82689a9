import type { Histogram } from 'node:perf_hooks'

/**
 * The event loop's mean delay per sample interval, read from a perf_hooks delay histogram
 * (`monitorEventLoopDelay`: one sample per tick, the time since the previous tick).
 *
 * The histogram is never reset: a reset also forgets when the last tick was, so the first delay
 * after it would go unrecorded (a loop blocked from just after a reset left no trace at all).
 * Each interval's mean comes from the growth of the running count and total instead.
 *
 * An interval with no sample (a process starved of CPU since start-up, a loop blocked through
 * the whole interval, an interval shorter than a tick) is no evidence: the previous figure
 * stands (0 before the first sample). @fastify/under-pressure took such an interval's NaN mean
 * for Infinity and shed every request until the next sample.
 */
export class EventLoopDelaySampler {
  readonly #histogram: Pick<Histogram, 'count' | 'mean'>
  readonly #resolutionMs: number
  #count = 0
  #totalNs = 0
  #delayMs = 0

  /**
   * @param histogram delays in ns, never reset while sampled.
   * @param resolutionMs the histogram's tick, taken off every mean (an idle loop reads 0).
   */
  constructor(histogram: Pick<Histogram, 'count' | 'mean'>, resolutionMs: number) {
    this.#histogram = histogram
    this.#resolutionMs = resolutionMs
  }

  /** The last interval's mean delay beyond the tick, ms (0 when no interval had a sample yet). */
  get delayMs(): number {
    return this.#delayMs
  }

  /** Ends an interval: takes the mean of the delays recorded since the previous call, if any. */
  sample(): void {
    const count = this.#histogram.count
    if (count <= this.#count) return
    const totalNs = this.#histogram.mean * count
    const meanMs = (totalNs - this.#totalNs) / (count - this.#count) / 1e6
    this.#delayMs = Math.max(0, meanMs - this.#resolutionMs)
    this.#count = count
    this.#totalNs = totalNs
  }
}
