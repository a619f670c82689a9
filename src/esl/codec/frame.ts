import { findHeader, findHeaders, headerQuery, headersOf, valueAt, type EslHeader, type HeaderBlock, type HeaderQuery } from './header-block.js'

export { headerQuery, type HeaderQuery }

export type { EslHeader }

/**
 * One ESL frame: a header block and, when it had a Content-Length, a body of exactly that
 * many bytes. Header values are kept raw: FreeSWITCH URL-encodes event headers (CHANNEL_DATA,
 * plain events) but not reply headers (`getvar` returns `Reply-Text: 50%` verbatim), so
 * decoding is the reader's choice (see percent-decode.ts), never the parser's.
 *
 * Lazy by design: the parser hands over the header block's bytes and the offsets of its lines
 * (scanHeaderBlock), and `header(name)` compares names in place. A CHANNEL_DATA block is ~3.6 KB
 * in ~115 lines of which the hook reads about ten: only those ten values are ever decoded.
 * `headers` builds the full list only when asked.
 */
export class EslFrame {
  /** undefined when the frame had no Content-Length header. */
  readonly body: Buffer | undefined
  readonly #block: HeaderBlock | undefined
  #headers: readonly EslHeader[] | undefined
  #contentType: string | null | undefined

  /** From parsed lines, or from a scanned header block (the parser's way: nothing is split). */
  constructor(headers: readonly EslHeader[] | HeaderBlock, body?: Buffer) {
    if (Array.isArray(headers)) this.#headers = headers
    else this.#block = headers as HeaderBlock
    this.body = body
  }

  /** Every header line, in order (built on first use). */
  get headers(): readonly EslHeader[] {
    this.#headers ??= this.#block === undefined ? [] : headersOf(this.#block)
    return this.#headers
  }

  /** The same headers with a body (the parser reads the body after the block). */
  withBody(body: Buffer): EslFrame {
    const frame = new EslFrame(this.#block ?? this.headers, body)
    frame.#headers = this.#headers
    return frame
  }

  /**
   * First value of a header, by name ignoring ASCII case (FreeSWITCH compares names with
   * strcasecmp). The value is everything after the `:` and one optional space, without a
   * trailing CR.
   */
  header(name: string): string | undefined {
    if (this.#block !== undefined) return findHeader(this.#block, name)
    const lower = asciiLower(name)
    for (const [n, v] of this.headers) if (n.length === lower.length && asciiLower(n) === lower) return v
    return undefined
  }

  /**
   * Several headers at once (one pass over the block), each as {@link header} would return it.
   * Pass a prepared {@link headerQuery} for names asked for on every frame.
   */
  headersNamed(names: readonly string[] | HeaderQuery): (string | undefined)[] {
    const query = Array.isArray(names) ? headerQuery(names) : (names as HeaderQuery)
    if (this.#block !== undefined) return findHeaders(this.#block, query)
    return query.names.map((name) => this.header(name))
  }

  get contentType(): string | undefined {
    if (this.#contentType === undefined) {
      const block = this.#block
      // The scan already found the line: no second search.
      const value = block === undefined ? this.header('Content-Type') : block.contentTypeAt < 0 ? undefined : valueAt(block, block.contentTypeAt)
      this.#contentType = value ?? null
    }
    return this.#contentType ?? undefined
  }

  /** The body as UTF-8 ('' when there is none). Invalid sequences become U+FFFD. */
  bodyText(): string {
    return this.body === undefined ? '' : this.body.toString('utf8')
  }
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())
}
