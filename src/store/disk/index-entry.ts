/**
 * The index's entry objects: 100k of them are kept, so each holds only what is its own and
 * shares the rest (see docs/architecture.md, "Memory").
 */
import type { CacheEntry, EntryMeta } from '../../core/ports/index.js'
import type { CacheLayout } from './layout.js'
import type { StringPool } from './string-pool.js'

/**
 * What the store knows of an indexed entry besides the CacheEntry port: the identity of the WAV
 * it was made from (`fileTagOf` its stat, see file-identity.ts). Every hit compares it, and the
 * size, with the file on disk now.
 */
export interface IndexedEntry extends CacheEntry {
  readonly fileTag: number
}

/** The fields an index entry is made of. */
export type IndexedFields = Omit<EntryMeta, 'text'> & { readonly fileTag: number }

/**
 * What many entries share: one frozen object per distinct (voice, engine, engineVersion,
 * sampleRate, format, pinned), held by every entry that has them (a handful for 100k entries).
 */
interface EntryProfile {
  readonly voice: string
  readonly engine: string
  readonly engineVersion: string
  readonly sampleRate: number
  readonly format: string
  readonly pinned: boolean
}

/** Distinct profiles kept per cache directory; past it (odd data) an entry gets a profile of its own. */
const MAX_PROFILES = 4096

/** Index entries of one cache directory: their class computes `path` from the key. */
const ENTRY_CLASSES = new WeakMap<CacheLayout, (fields: IndexedFields) => IndexedEntry>()

/** One shared profile per distinct combination (bounded: past MAX_PROFILES, odd data gets its own). */
function profileInterner(): (f: IndexedFields) => EntryProfile {
  const profiles = new Map<string, EntryProfile>()
  let last: EntryProfile | undefined
  const profileFor = (f: IndexedFields): EntryProfile => {
    const id = `${f.voice}\0${f.engine}\0${f.engineVersion}\0${f.sampleRate}\0${f.format}\0${f.pinned}`
    const known = profiles.get(id)
    if (known !== undefined) return known
    const profile = Object.freeze({ voice: f.voice, engine: f.engine, engineVersion: f.engineVersion, sampleRate: f.sampleRate, format: f.format, pinned: f.pinned })
    if (profiles.size < MAX_PROFILES) profiles.set(id, profile)
    return profile
  }
  return (f) => {
    // The scan indexes 100k entries, nearly all with the profile of the one before.
    if (last !== undefined && sameProfile(last, f)) return last
    last = profileFor(f)
    return last
  }
}

function entryFactoryOf(layout: CacheLayout): (fields: IndexedFields) => IndexedEntry {
  let make = ENTRY_CLASSES.get(layout)
  if (make === undefined) {
    const profileOf = profileInterner()
    /**
     * 100k entries are indexed, so an entry holds only what is its own (6 fields, 72 bytes; it
     * was 11, 112 bytes) and reads the rest from its shared profile. The WAV path is computed
     * when asked for (once per hit: ~1 µs), not kept (~130 bytes an entry). Own fields in a
     * fixed order, so every entry shares one hidden class; `toJSON` gives every field and the
     * path (entryFields gives the fields as a plain object).
     */
    class Entry implements IndexedEntry {
      readonly key: string
      readonly profile: EntryProfile
      readonly bytes: number
      readonly durationMs: number
      readonly createdAt: number
      readonly fileTag: number

      constructor(fields: IndexedFields) {
        this.key = fields.key
        this.profile = profileOf(fields)
        this.bytes = fields.bytes
        this.durationMs = fields.durationMs
        this.createdAt = fields.createdAt
        this.fileTag = fields.fileTag
        Object.freeze(this)
      }

      get voice(): string {
        return this.profile.voice
      }

      get engine(): string {
        return this.profile.engine
      }

      get engineVersion(): string {
        return this.profile.engineVersion
      }

      get sampleRate(): number {
        return this.profile.sampleRate
      }

      get format(): string {
        return this.profile.format
      }

      get pinned(): boolean {
        return this.profile.pinned
      }

      get path(): string {
        return layout.wavPath(this.key)
      }

      toJSON(): IndexedEntry {
        return { ...entryFields(this), path: this.path }
      }
    }
    make = (fields) => new Entry(fields)
    ENTRY_CLASSES.set(layout, make)
  }
  return make
}

function sameProfile(p: EntryProfile, f: IndexedFields): boolean {
  return p.voice === f.voice && p.engine === f.engine && p.engineVersion === f.engineVersion && p.sampleRate === f.sampleRate && p.format === f.format && p.pinned === f.pinned
}

/**
 * An index entry's fields as a plain object, in the sidecar's order (its `path` and shared
 * profile are not own fields: spread this, not the entry).
 */
export function entryFields(entry: IndexedEntry): IndexedFields {
  return {
    key: entry.key,
    voice: entry.voice,
    engine: entry.engine,
    engineVersion: entry.engineVersion,
    sampleRate: entry.sampleRate,
    format: entry.format,
    bytes: entry.bytes,
    durationMs: entry.durationMs,
    createdAt: entry.createdAt,
    pinned: entry.pinned,
    fileTag: entry.fileTag,
  }
}

/**
 * The one way an index entry is made: frozen, without the text, its path computed from the
 * key, the repeated strings interned when a pool is given. Spread `entryFields(entry)`, not the
 * entry: its path and shared fields are getters.
 */
export function cacheEntryOf(layout: CacheLayout, meta: IndexedFields, pool?: StringPool): IndexedEntry {
  const intern = (value: string): string => pool?.intern(value) ?? value
  return entryFactoryOf(layout)({
    key: meta.key,
    voice: intern(meta.voice),
    engine: intern(meta.engine),
    engineVersion: intern(meta.engineVersion),
    sampleRate: meta.sampleRate,
    format: intern(meta.format),
    bytes: meta.bytes,
    durationMs: meta.durationMs,
    createdAt: meta.createdAt,
    pinned: meta.pinned,
    fileTag: meta.fileTag,
  })
}
