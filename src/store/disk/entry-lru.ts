/**
 * The LRU behind the index (cache-index.ts): entries by key, least recently used evicted first
 * while their bytes exceed the budget. Written for 100k entries: besides the key→slot Map it
 * keeps 16 bytes a slot (the entry, and the two neighbours as 32-bit slot numbers); a general
 * LRU (lru-cache without `max`) keeps five 8-byte arrays a slot, key and size included, which
 * the entry already has. A hit is one Map lookup and a relink, nothing else.
 */

/** What the LRU needs of a value: its key and its size (at least 1 byte counts). */
export interface LruValue {
  readonly key: string
  readonly bytes: number
}

const INITIAL_SLOTS = 64

export class EntryLru<V extends LruValue> {
  readonly #slots = new Map<string, number>()
  readonly #values: (V | undefined)[] = []
  /** Toward the more recently used (the tail is the most recent). */
  #newer = new Uint32Array(INITIAL_SLOTS)
  /** Toward the less recently used (the head is the least recent). */
  #older = new Uint32Array(INITIAL_SLOTS)
  readonly #free: number[] = []
  #head = 0
  #tail = 0
  #bytes = 0
  readonly #maxBytes: number
  readonly #onEvict: (value: V) => void

  /** `onEvict` is called (synchronously, from `set`) for each value evicted to fit the budget. */
  constructor(maxBytes: number, onEvict: (value: V) => void) {
    this.#maxBytes = maxBytes
    this.#onEvict = onEvict
  }

  get size(): number {
    return this.#slots.size
  }

  /** The counted bytes of every value held. */
  get calculatedSize(): number {
    return this.#bytes
  }

  /** Makes the value the most recently used. */
  get(key: string): V | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    if (slot !== this.#tail) this.#moveToTail(slot)
    return this.#values[slot]
  }

  peek(key: string): V | undefined {
    const slot = this.#slots.get(key)
    return slot === undefined ? undefined : this.#values[slot]
  }

  has(key: string): boolean {
    return this.#slots.has(key)
  }

  /**
   * Adds a value whose key is not held (delete it first) as the most recently used, then evicts
   * from the least recently used while over the budget. A value bigger than the budget is the
   * caller's to refuse (it would evict everything else, then itself stay).
   */
  set(value: V): void {
    const slot = this.#free.pop() ?? this.#values.length
    if (slot >= this.#newer.length) this.#grow()
    this.#values[slot] = value
    this.#slots.set(value.key, slot)
    if (this.#slots.size === 1) {
      this.#head = slot
    } else {
      this.#newer[this.#tail] = slot
      this.#older[slot] = this.#tail
    }
    this.#tail = slot
    this.#bytes += sizeOf(value)
    while (this.#bytes > this.#maxBytes && this.#head !== slot) {
      const evicted = this.#unlink(this.#head)
      this.#onEvict(evicted)
    }
  }

  /** Removes and returns the value (no eviction callback). */
  delete(key: string): V | undefined {
    const slot = this.#slots.get(key)
    return slot === undefined ? undefined : this.#unlink(slot)
  }

  /** From the most to the least recently used; recency unchanged. Do not change the LRU while iterating. */
  *values(): IterableIterator<V> {
    let remaining = this.#slots.size
    for (let slot = this.#tail; remaining > 0; slot = this.#older[slot] ?? 0, remaining--) {
      const value = this.#values[slot]
      if (value !== undefined) yield value
    }
  }

  #moveToTail(slot: number): void {
    const newer = this.#newer[slot] ?? 0
    if (slot === this.#head) {
      this.#head = newer
    } else {
      const older = this.#older[slot] ?? 0
      this.#newer[older] = newer
      this.#older[newer] = older
    }
    this.#newer[this.#tail] = slot
    this.#older[slot] = this.#tail
    this.#tail = slot
  }

  #unlink(slot: number): V {
    const value = this.#values[slot] as V
    this.#slots.delete(value.key)
    this.#values[slot] = undefined
    this.#free.push(slot)
    this.#bytes -= sizeOf(value)
    const newer = this.#newer[slot] ?? 0
    const older = this.#older[slot] ?? 0
    if (slot === this.#head) this.#head = newer
    else this.#newer[older] = newer
    if (slot === this.#tail) this.#tail = older
    else this.#older[newer] = older
    return value
  }

  #grow(): void {
    const newer = new Uint32Array(this.#newer.length * 2)
    newer.set(this.#newer)
    this.#newer = newer
    const older = new Uint32Array(this.#older.length * 2)
    older.set(this.#older)
    this.#older = older
  }
}

function sizeOf(value: LruValue): number {
  return Math.max(1, value.bytes)
}
