/**
 * Which long-running services (`tts-cache serve`) use a cache directory: one registration file
 * each under `<cacheDir>/.services/`, so a second service on the same directory is noticed at its
 * start. Two services on one directory each keep their own index and byte budget and evict (delete)
 * files the other serves; hits stay correct (every hit stats its file: DiskStore.lookup), but that
 * is a deployment to choose, not to stumble into. So a service refuses to start beside another
 * unless both say the directory is shared (`TTS_CACHE_SHARED=true`, or `TTS_CLUSTER_AUDIO=shared-dir`).
 * One-shot commands (`get`, `prewarm`, `purge`) do not register: they run beside a service.
 *
 * A registration is live while its process is: on this host, its pid is alive with the same
 * start time and boot (process-identity.ts: a reused pid is not it); on another host (a shared
 * network directory), while its file's mtime, touched every `heartbeatMs`, is recent. A stale one
 * (kill -9, a crash, a reboot) is removed by the next service that starts.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { TtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import { errnoCode, storeIoError, unlinkIfExists } from './fs-util.js'
import { localProcessGoneReason, thisProcessIdentity } from './process-identity.js'

/** The directory (under the cache dir) holding one file per running service. */
export const SERVICES_DIR = '.services'

export const REGISTRY_DEFAULTS = Object.freeze({
  /** How often a service touches its registration (ms). */
  heartbeatMs: 10_000,
  /** A registration from another host untouched this long is stale (ms). */
  staleAfterMs: 60_000,
})

/** One service's registration file. */
export interface ServiceRecord {
  readonly token: string
  readonly pid: number
  readonly hostname: string
  /** Wall-clock ms since the epoch. */
  readonly startedAt: number
  readonly pidStart: number | undefined
  readonly bootId: string | undefined
  readonly pidNs: string | undefined
  /** Registered with TTS_CACHE_SHARED (or the shared-dir cluster transport). */
  readonly shared: boolean
}

export interface RegisterOptions {
  readonly cacheDir: string
  readonly shared: boolean
  readonly logger: Logger
  readonly heartbeatMs?: number | undefined
  readonly staleAfterMs?: number | undefined
}

/** This service's registration: kept alive by a heartbeat until `release`. */
export class ServiceRegistration {
  readonly record: ServiceRecord
  /** Live services that were registered when this one started (shared with it). */
  readonly peers: readonly ServiceRecord[]
  readonly #file: string
  readonly #timer: NodeJS.Timeout
  readonly #logger: Logger
  #released = false

  private constructor(record: ServiceRecord, peers: readonly ServiceRecord[], file: string, options: RegisterOptions) {
    this.record = record
    this.peers = peers
    this.#file = file
    this.#logger = options.logger
    this.#timer = setInterval(() => void this.#beat(), options.heartbeatMs ?? REGISTRY_DEFAULTS.heartbeatMs)
    this.#timer.unref()
  }

  /**
   * Registers this process as a service of `cacheDir`. Throws TTS_ERR_CONFIG when another live
   * service holds the directory and this one or that one is not shared (the message names
   * TTS_CACHE_SHARED); removes stale registrations on the way.
   */
  static async register(options: RegisterOptions): Promise<ServiceRegistration> {
    const dir = path.join(options.cacheDir, SERVICES_DIR)
    const identity = thisProcessIdentity()
    const record: ServiceRecord = {
      token: randomBytes(8).toString('hex'),
      pid: process.pid,
      hostname: os.hostname(),
      startedAt: Date.now(),
      pidStart: identity.pidStart,
      bootId: identity.bootId,
      pidNs: identity.pidNs,
      shared: options.shared,
    }
    const file = path.join(dir, `${record.token}.json`)
    // Written first, then the others read: two services starting at once both see each other,
    // and the older registration wins (the newer refuses), so exactly one of them starts.
    await writeRecord(dir, file, record)
    let peers: ServiceRecord[]
    try {
      peers = await livePeers(dir, record, options)
    } catch (err) {
      await unlinkIfExists(file).catch(() => undefined)
      throw err
    }
    const blocking = peers.find((peer) => !(peer.shared && record.shared) && isOlder(peer, record))
    if (blocking !== undefined) {
      await unlinkIfExists(file)
      throw new TtsError('TTS_ERR_CONFIG', {
        args: [
          `cache directory ${options.cacheDir} is in use by another tts-cache serve (pid ${blocking.pid} on ${blocking.hostname}, ` +
            `since ${new Date(blocking.startedAt).toISOString()}${blocking.shared ? ', shared' : ''}). Two services on one directory each evict ` +
            `files the other serves: give each its own TTS_CACHE_DIR, or set TTS_CACHE_SHARED=true on every service that shares it ` +
            `(see docs/operations.md "Several services on one cache directory")`,
        ],
        details: { cacheDir: options.cacheDir, setting: 'TTS_CACHE_SHARED', holder: { pid: blocking.pid, hostname: blocking.hostname, startedAt: blocking.startedAt, shared: blocking.shared } },
      })
    }
    const registration = new ServiceRegistration(record, peers, file, options)
    if (peers.length > 0) {
      options.logger.info(
        { cacheDir: options.cacheDir, peers: peers.map((p) => ({ pid: p.pid, hostname: p.hostname })) },
        'sharing the cache directory with other services (TTS_CACHE_SHARED): each evicts by its own budget; hits check their file on disk',
      )
    }
    return registration
  }

  /** Stops the heartbeat and removes the registration. Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return
    this.#released = true
    clearInterval(this.#timer)
    await unlinkIfExists(this.#file)
  }

  /** Touches the registration (its mtime is its heartbeat); writes it again if it was removed (rm -rf of the cache dir). */
  async #beat(): Promise<void> {
    if (this.#released) return
    const now = new Date()
    try {
      await fs.utimes(this.#file, now, now)
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') {
        this.#logger.warn({ err, file: this.#file }, 'cannot touch this service’s registration in the cache directory')
        return
      }
      try {
        await writeRecord(path.dirname(this.#file), this.#file, this.record)
      } catch (writeErr) {
        this.#logger.warn({ err: writeErr, file: this.#file }, 'cannot write this service’s registration in the cache directory again')
      }
    }
  }
}

async function writeRecord(dir: string, file: string, record: ServiceRecord): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true })
    await fs.writeFile(file, JSON.stringify(record), { flag: 'wx', mode: 0o644 })
  } catch (err) {
    throw storeIoError(err, 'register the service in', dir)
  }
}

/** The other live registrations; stale ones are removed. */
async function livePeers(dir: string, own: ServiceRecord, options: RegisterOptions): Promise<ServiceRecord[]> {
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch (err) {
    throw storeIoError(err, 'list', dir)
  }
  const peers: ServiceRecord[] = []
  for (const name of names) {
    if (!name.endsWith('.json') || name === `${own.token}.json`) continue
    const file = path.join(dir, name)
    let text: string
    let mtimeMs: number
    try {
      const [content, stat] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)])
      text = content
      mtimeMs = stat.mtimeMs
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue
      throw storeIoError(err, 'read', file)
    }
    const record = parseRecord(text)
    const stale = staleReason(record, mtimeMs, own, options.staleAfterMs ?? REGISTRY_DEFAULTS.staleAfterMs)
    if (stale === undefined && record !== undefined) {
      peers.push(record)
      continue
    }
    options.logger.info({ file, reason: stale, pid: record?.pid, hostname: record?.hostname }, 'removing a stale service registration from the cache directory')
    await unlinkIfExists(file)
  }
  return peers
}

/** Why a registration is stale, or undefined while its service may still run. */
function staleReason(record: ServiceRecord | undefined, mtimeMs: number, own: ServiceRecord, staleAfterMs: number): string | undefined {
  const age = Date.now() - mtimeMs
  if (record === undefined) return age > staleAfterMs ? 'unreadable and not touched since' : undefined
  const sameMachine = record.hostname === own.hostname && record.bootId !== undefined && record.bootId === own.bootId
  if (record.hostname === own.hostname && record.bootId !== undefined && own.bootId !== undefined && record.bootId !== own.bootId) {
    return 'written before this host rebooted'
  }
  if (sameMachine && record.pidNs !== undefined && record.pidNs === own.pidNs) {
    return localProcessGoneReason(record.pid, record.pidStart)
  }
  // Another host, or a pid namespace we cannot look into: only its heartbeat tells.
  return age > staleAfterMs ? `not touched for ${Math.round(age / 1000)} s` : undefined
}

function parseRecord(text: string): ServiceRecord | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const r = value as Record<string, unknown>
  if (typeof r['token'] !== 'string' || typeof r['pid'] !== 'number' || typeof r['hostname'] !== 'string' || typeof r['startedAt'] !== 'number') return undefined
  const optional = <T>(v: unknown, type: 'string' | 'number'): T | undefined => (typeof v === type ? (v as T) : undefined)
  return {
    token: r['token'],
    pid: r['pid'],
    hostname: r['hostname'],
    startedAt: r['startedAt'],
    pidStart: optional<number>(r['pidStart'], 'number'),
    bootId: optional<string>(r['bootId'], 'string'),
    pidNs: optional<string>(r['pidNs'], 'string'),
    shared: r['shared'] === true,
  }
}

/** Registered first (ties broken by token): the one that keeps the directory when both start at once. */
function isOlder(a: ServiceRecord, b: ServiceRecord): boolean {
  return a.startedAt < b.startedAt || (a.startedAt === b.startedAt && a.token < b.token)
}
