/** One header as it came off the wire: name and raw (not URL-decoded) value. */
export type EslHeader = readonly [name: string, value: string]

/**
 * One ESL frame: a header block and, when it had a Content-Length, a body of exactly that
 * many bytes. Header values are kept raw: FreeSWITCH URL-encodes event headers (CHANNEL_DATA,
 * plain events) but not reply headers (`getvar` returns `Reply-Text: 50%` verbatim), so
 * decoding is the reader's choice (see percent-decode.ts), never the parser's.
 */
export class EslFrame {
  readonly headers: readonly EslHeader[]
  /** undefined when the frame had no Content-Length header. */
  readonly body: Buffer | undefined
  #index: Map<string, string> | undefined

  constructor(headers: readonly EslHeader[], body?: Buffer) {
    this.headers = headers
    this.body = body
  }

  /** First value of a header, by case-insensitive name (FreeSWITCH compares names that way). */
  header(name: string): string | undefined {
    if (this.#index === undefined) {
      const index = new Map<string, string>()
      for (const [n, v] of this.headers) {
        const lower = n.toLowerCase()
        if (!index.has(lower)) index.set(lower, v)
      }
      this.#index = index
    }
    return this.#index.get(name.toLowerCase())
  }

  get contentType(): string | undefined {
    return this.header('Content-Type')
  }

  /** The body as UTF-8 ('' when there is none). Invalid sequences become U+FFFD. */
  bodyText(): string {
    return this.body === undefined ? '' : this.body.toString('utf8')
  }
}
