/**
 * File deletions in flight, chained per key, so that a claim or commit of a key can wait for
 * them: an eviction's unlink must never land on the file a new render just published.
 */
export class KeyDeletions {
  /** Per key, the tail of its chain; it never rejects (outcomes go to each caller). */
  readonly #tails = new Map<string, Promise<void>>()

  /** Runs `remove` after the key's earlier deletions; resolves or rejects with its outcome. */
  run<T>(key: string, remove: () => Promise<T>): Promise<T> {
    const deletion = (this.#tails.get(key) ?? Promise.resolve()).then(remove)
    const tail = deletion.then(
      () => undefined,
      () => undefined,
    )
    this.#tails.set(key, tail)
    // Cannot reject: `tail` never does, and this callback cannot throw.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    })
    return deletion
  }

  /** Whether a deletion of the key is in flight (`settled` would wait). */
  pending(key: string): boolean {
    return this.#tails.has(key)
  }

  /** Resolves once the key's deletions so far are done. */
  settled(key: string): Promise<void> {
    return this.#tails.get(key) ?? Promise.resolve()
  }

  /** Resolves once no deletion is in flight (including ones started meanwhile). */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values())
  }
}
