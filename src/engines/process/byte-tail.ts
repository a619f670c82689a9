/** Keeps the last `limitBytes` bytes written to it (an engine's stderr tail). */
export class ByteTail {
  readonly #limitBytes: number
  #chunks: Buffer[] = []
  #bytes = 0

  constructor(limitBytes: number) {
    this.#limitBytes = limitBytes
  }

  push(chunk: Buffer | string): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    this.#chunks.push(buffer)
    this.#bytes += buffer.length
    // Drop whole chunks while what remains still covers the limit.
    let first = this.#chunks[0]
    while (first !== undefined && this.#bytes - first.length >= this.#limitBytes) {
      this.#chunks.shift()
      this.#bytes -= first.length
      first = this.#chunks[0]
    }
  }

  /** The tail as UTF-8 (a multi-byte character cut at the start shows as U+FFFD). */
  text(): string {
    const all = Buffer.concat(this.#chunks)
    return all.subarray(Math.max(0, all.length - this.#limitBytes)).toString('utf8')
  }
}
