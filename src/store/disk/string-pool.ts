/**
 * Shares equal strings between entries: 100k sidecars name a handful of voices and engines,
 * and JSON.parse gives each its own copy. Bounded, so odd data cannot grow it without end.
 */
export class StringPool {
  readonly #strings = new Map<string, string>()
  readonly #maxSize: number

  constructor(maxSize = 4096) {
    this.#maxSize = maxSize
  }

  intern(value: string): string {
    const known = this.#strings.get(value)
    if (known !== undefined) return known
    if (this.#strings.size < this.#maxSize) this.#strings.set(value, value)
    return value
  }
}
