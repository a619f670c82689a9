import type { Priority } from '../../core/ports/index.js'

/** What the wait list needs of an item: its priority, which `promote` may raise. */
export interface Prioritised {
  priority: Priority
}

/**
 * Jobs waiting for a worker: every live job before any pre-warm job, each list first in, first
 * out. Removal of one item (an abort) is O(n), fine for the bounded queue (1,000 by default).
 */
export class PriorityWaitList<T extends Prioritised> {
  #live: T[] = []
  #prewarm: T[] = []

  get size(): number {
    return this.#live.length + this.#prewarm.length
  }

  push(item: T): void {
    ;(item.priority === 'live' ? this.#live : this.#prewarm).push(item)
  }

  /** The next job to run: the oldest live one, else the oldest pre-warm one. */
  shift(): T | undefined {
    return this.#live.shift() ?? this.#prewarm.shift()
  }

  remove(item: T): boolean {
    const list = item.priority === 'live' ? this.#live : this.#prewarm
    const index = list.indexOf(item)
    if (index === -1) return false
    list.splice(index, 1)
    return true
  }

  /** Moves the pre-warm items that `matches` to the end of the live list, now live. */
  promote(matches: (item: T) => boolean): number {
    const moving = this.#prewarm.filter(matches)
    if (moving.length === 0) return 0
    this.#prewarm = this.#prewarm.filter((item) => !matches(item))
    for (const item of moving) {
      item.priority = 'live'
      this.#live.push(item)
    }
    return moving.length
  }

  /** Empties the list, returning every item (live first). */
  drain(): T[] {
    const all = [...this.#live, ...this.#prewarm]
    this.#live = []
    this.#prewarm = []
    return all
  }
}
