/**
 * The real TtsService over an in-memory store and a render queue that counts renders and can
 * hold them until the test releases them. Stands in for the disk store / engine pool while the
 * lead builds them; switch these tests to buildApp (src/app.ts) once it exists.
 */
import { TtsError } from '../../src/core/errors.js'
import type {
  AudioStore,
  CacheEntry,
  ClaimOptions,
  ClaimResult,
  EngineCatalog,
  EntryFilter,
  EntryMeta,
  Logger,
  QueueStats,
  RenderJob,
  RenderOptions,
  RenderQueue,
  RenderedAudio,
  StoreStats,
} from '../../src/core/ports.js'
import { TtsService } from '../../src/core/tts-service.js'

export class MemoryStore implements AudioStore {
  readonly root: string
  readonly #entries = new Map<string, CacheEntry>()

  constructor(root = '/var/lib/tts-cache') {
    this.root = root
  }

  lookup(key: string): CacheEntry | undefined {
    return this.#entries.get(key)
  }
  peek(key: string): CacheEntry | undefined {
    return this.#entries.get(key)
  }
  claim(key: string, _options?: ClaimOptions): Promise<ClaimResult> {
    const existing = this.#entries.get(key)
    if (existing !== undefined) return Promise.resolve({ state: 'exists', entry: existing })
    const path = this.pathFor(key)
    return Promise.resolve({
      state: 'owned',
      slot: {
        key,
        tempPath: `${path}.tmp`,
        commit: (meta: Omit<EntryMeta, 'key' | 'bytes' | 'durationMs' | 'createdAt'>, audio: RenderedAudio) => {
          const entry: CacheEntry = { ...meta, key, bytes: audio.bytes, durationMs: audio.durationMs, createdAt: Date.now(), path }
          this.#entries.set(key, entry)
          return Promise.resolve(entry)
        },
        release: () => Promise.resolve(),
      },
    })
  }
  pin(key: string): Promise<void> {
    const e = this.#entries.get(key)
    if (e !== undefined) this.#entries.set(key, { ...e, pinned: true })
    return Promise.resolve()
  }
  remove(key: string): Promise<boolean> {
    return Promise.resolve(this.#entries.delete(key))
  }
  removeWhere(_filter: EntryFilter): Promise<number> {
    return Promise.resolve(0)
  }
  removeAll(): Promise<number> {
    const n = this.#entries.size
    this.#entries.clear()
    return Promise.resolve(n)
  }
  entries(): Iterable<CacheEntry> {
    return this.#entries.values()
  }
  stats(): StoreStats {
    return { entries: this.#entries.size, bytes: 0, pinnedEntries: 0, pinnedBytes: 0, maxBytes: 0, evictions: 0 }
  }
  pathFor(key: string): string {
    return `${this.root}/${key.slice(0, 2)}/${key}.wav`
  }
}

interface HeldRender {
  readonly job: RenderJob
  readonly resolve: (audio: RenderedAudio) => void
  readonly reject: (err: unknown) => void
}

/** Counts renders; `hold` keeps them pending until release()/fail(). */
export class CountingQueue implements RenderQueue {
  readonly jobs: { job: RenderJob; priority: string }[] = []
  hold = false
  failWith: TtsError | undefined
  readonly #held: HeldRender[] = []

  get renders(): number {
    return this.jobs.length
  }

  get heldCount(): number {
    return this.#held.length
  }

  render(job: RenderJob, options: RenderOptions): Promise<RenderedAudio> {
    this.jobs.push({ job, priority: options.priority })
    if (this.failWith !== undefined) return Promise.reject(this.failWith)
    if (!this.hold) return Promise.resolve({ bytes: 16_044, durationMs: 1000 })
    return new Promise<RenderedAudio>((resolve, reject) => {
      const held: HeldRender = { job, resolve, reject }
      this.#held.push(held)
      options.signal?.addEventListener('abort', () => {
        const i = this.#held.indexOf(held)
        if (i >= 0) this.#held.splice(i, 1)
        reject(new TtsError('TTS_ERR_ABORTED', { cause: options.signal?.reason }))
      })
    })
  }

  /** Completes every held render. */
  releaseAll(): void {
    for (const held of this.#held.splice(0)) held.resolve({ bytes: 16_044, durationMs: 1000 })
  }

  stats(): QueueStats {
    return { waiting: 0, active: this.#held.length, concurrency: 1, limit: 1000, drainPerSecond: 0 }
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

export const fakeEngines: EngineCatalog = {
  versionOf(engine: string): string {
    if (engine === 'espeak-ng' || engine === 'flite') return '1.51-test'
    throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [engine] })
  },
  checkVoice(engine: string, voice: string): void {
    if (voice === 'nosuchvoice') throw new TtsError('TTS_ERR_UNKNOWN_VOICE', { args: [engine, voice] })
  },
  ids: () => ['espeak-ng', 'flite'],
}

export interface TestService {
  readonly service: TtsService
  readonly store: MemoryStore
  readonly queue: CountingQueue
  /** Where the WAV for this text (and options) is, as the hook must report it. */
  expectedPath(text: string, extra?: { voice?: string; engine?: string; sampleRate?: number }): string
  expectedKey(text: string, extra?: { voice?: string; engine?: string; sampleRate?: number }): string
}

export function createTestService(logger: Logger, root?: string): TestService {
  const store = new MemoryStore(root)
  const queue = new CountingQueue()
  const service = new TtsService({
    store,
    queue,
    engines: fakeEngines,
    defaults: { engine: 'espeak-ng', voice: '', sampleRate: 8000, maxTextChars: 2000 },
    logger,
  })
  const expectedKey = (text: string, extra: { voice?: string; engine?: string; sampleRate?: number } = {}): string =>
    service.resolve({ text, ...extra }).key
  return {
    service,
    store,
    queue,
    expectedKey,
    expectedPath: (text, extra) => store.pathFor(expectedKey(text, extra)),
  }
}
