import { BlockList, isIP } from 'node:net'
import type { Logger } from '../core/ports/index.js'

/**
 * TTS_ESL_ALLOW: which peers may connect to the outbound ESL hook (the hook has no
 * authentication of its own). A comma-separated list of CIDRs (`10.0.0.0/8`, `fd00::/8`) or
 * single addresses (`192.0.2.7`, `::1`); IPv4 peers arriving as IPv4-mapped IPv6
 * (`::ffff:192.0.2.7`, a dual-stack listener) are matched against the IPv4 entries.
 * `0.0.0.0/0,::/0` allows everyone.
 */
export interface EslAllowList {
  /** The list as configured, normalised (for logs and docs). */
  readonly spec: string
  allows(address: string | undefined): boolean
}

/** Why `spec` is not a valid allow-list, or undefined when it is. */
export function eslAllowListProblem(spec: string): string | undefined {
  const entries = splitEntries(spec)
  if (entries.length === 0) return 'must name at least one CIDR or address (0.0.0.0/0,::/0 allows every peer)'
  for (const entry of entries) {
    if (parseEntry(entry) === undefined) return `"${entry}" is not an IPv4/IPv6 address or CIDR (e.g. 127.0.0.0/8, 10.1.2.0/24, ::1/128)`
  }
  return undefined
}

/** Parses a TTS_ESL_ALLOW value; throws a plain Error naming the bad entry (config validates first). */
export function parseEslAllowList(spec: string): EslAllowList {
  const problem = eslAllowListProblem(spec)
  if (problem !== undefined) throw new Error(`TTS_ESL_ALLOW ${problem}`)
  const list = new BlockList()
  const entries = splitEntries(spec)
  for (const entry of entries) {
    const parsed = parseEntry(entry)
    if (parsed !== undefined) list.addSubnet(parsed.address, parsed.prefix, parsed.family)
  }
  return Object.freeze({
    spec: entries.join(','),
    allows(address: string | undefined): boolean {
      if (address === undefined) return false
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
      const plain = mapped?.[1] ?? address
      const family = isIP(plain)
      if (family === 0) return false
      return list.check(plain, family === 4 ? 'ipv4' : 'ipv6')
    },
  })
}

function splitEntries(spec: string): string[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

function parseEntry(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = entry.split('/')
  if (extra !== undefined) return undefined
  const version = isIP(address)
  if (version === 0) return undefined
  const max = version === 4 ? 32 : 128
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined
  const prefix = prefixText === undefined ? max : Number(prefixText)
  if (prefix > max) return undefined
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' }
}

/** Denied peers logged one line each per window; the rest are counted into the next line. */
export const DENIED_LOG_DEFAULTS = Object.freeze({ burst: 10, windowMs: 60_000 })

/**
 * One warn line per denied peer (`peer`, the list, the setting to change), at most `burst` per
 * window so a scanner cannot flood the log; the next line logged carries how many were not.
 * Every denial is counted in `tts_esl_denied_connections_total` whatever is logged.
 */
export class DeniedPeerLog {
  readonly #logger: Logger
  readonly #now: () => number
  readonly #spec: string
  #windowStart = Number.NEGATIVE_INFINITY
  #logged = 0
  #suppressed = 0

  constructor(logger: Logger, now: () => number, spec: string) {
    this.#logger = logger
    this.#now = now
    this.#spec = spec
  }

  report(peer: string): void {
    const now = this.#now()
    if (now - this.#windowStart >= DENIED_LOG_DEFAULTS.windowMs) {
      this.#windowStart = now
      this.#logged = 0
    }
    if (this.#logged >= DENIED_LOG_DEFAULTS.burst) {
      this.#suppressed++
      return
    }
    this.#logged++
    const suppressed = this.#suppressed
    this.#suppressed = 0
    this.#logger.warn(
      { peer, allow: this.#spec, ...(suppressed > 0 ? { suppressed } : {}) },
      'ESL connection from a peer outside TTS_ESL_ALLOW: closed (add its address or CIDR to TTS_ESL_ALLOW to let it in)',
    )
  }
}
