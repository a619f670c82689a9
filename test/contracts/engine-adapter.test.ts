/**
 * The engine-adapter contract, run against every adapter of the engine registry: the installed
 * engines (espeak-ng, flite), the proprietary ones through their strict stand-ins
 * (test/fixtures/engines/swift, pico2wave) and the `command` engine (espeak-ng behind a template).
 *
 * Each adapter runs its binary through a recorder (a wrapper script written here) that keeps the
 * argv and stdin of every run and then runs the real binary with both: so the contract checks
 * what the engine was really given — the text on stdin and never in argv (or, for a CLI that
 * cannot read stdin, as the one argv element after `--`) — on every adapter alike.
 */
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isCanonicalWav, parseWavHeader } from '../../src/audio/wav.js'
import { ENGINE_IDS, ENGINE_REGISTRY, createAdapters } from '../../src/engines/adapters/index.js'
import type { EngineAdapter, EngineAdapterOptions } from '../../src/engines/adapters/engine-adapter.js'
import { renderToFile } from '../../src/engines/pipeline/render-audio.js'
import { fixture, makeTempDir, readArgvFile, removeTempDirs, renderJob } from '../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

/** The binary each engine really runs here, behind the recorder (`command`: espeak-ng reading stdin). */
const REAL_BINARY: Readonly<Record<string, string>> = {
  'espeak-ng': 'espeak-ng',
  swift: fixture('swift'),
  flite: 'flite',
  pico2wave: fixture('pico2wave'),
  command: 'espeak-ng',
}

/** Renders at the rate each engine (or its stand-in) writes natively, and at one it must convert. */
const RATES = [8000, 16000]

const RECORDER = `#!/bin/sh
# Records this run's argv (NUL-terminated) and stdin, then runs the real binary with both.
run="$TTS_RECORD_DIR/run.$$"
mkdir "$run"
for arg in "$@"; do printf '%s\\000' "$arg" >> "$run/argv"; done
: > "$run/argv.done"
cat > "$run/stdin"
exec "$TTS_REAL_BIN" "$@" < "$run/stdin"
`

interface Recorded {
  readonly adapter: EngineAdapter
  /** The runs recorded since the last `clear()`, one per run, in no particular order. */
  runs(): Promise<{ argv: string[]; stdin: string }[]>
  clear(): Promise<void>
}

async function recordedAdapter(id: string): Promise<Recorded> {
  const dir = await makeTempDir('tts-adapter-contract-')
  const recordDir = join(dir, 'runs')
  await mkdir(recordDir)
  const recorder = join(dir, 'recorder')
  await writeFile(recorder, RECORDER)
  await chmod(recorder, 0o755)
  const env = { TTS_RECORD_DIR: recordDir, TTS_REAL_BIN: REAL_BINARY[id] ?? '' }
  const options: EngineAdapterOptions =
    id === 'command'
      ? { commandTemplate: [recorder, '--stdin', '-w', '{out}'], engines: { command: { env } } }
      : { engines: { [id]: { path: recorder, env } } }
  const adapter = createAdapters(options).find((candidate) => candidate.id === id)
  if (adapter === undefined) throw new Error(`the registry made no ${id} adapter`)
  return {
    adapter,
    async runs() {
      const names = await readdir(recordDir)
      return Promise.all(
        names.map(async (name) => ({ argv: await readArgvFile(join(recordDir, name, 'argv')).catch(() => []), stdin: await readFile(join(recordDir, name, 'stdin'), 'utf8') })),
      )
    },
    clear: async () => {
      await rm(recordDir, { recursive: true, force: true })
      await mkdir(recordDir)
    },
  }
}

const PROBE = { timeoutMs: 15_000, killGraceMs: 100 }

/** Text that would do harm as an option or in a shell, with a marker to find it anywhere. */
const TEXT = '-w /dev/null $(touch /tmp/never) `id`; --version marker-7f3a9c1e'

describe('the adapter contract covers the whole registry', () => {
  it('knows how to run every registered engine here', () => {
    expect(Object.keys(REAL_BINARY).sort()).toEqual([...ENGINE_IDS].sort())
  })
})

describe.each(ENGINE_REGISTRY.map((engine) => [engine.id]))('EngineAdapter contract: %s', (id) => {
  it('is made by its registry entry with its own id, a binary and a text input mode', async () => {
    const { adapter } = await recordedAdapter(id)
    expect(adapter.id).toBe(id)
    expect(adapter.binary).not.toBe('')
    expect(['stdin', 'argv-after-dashes']).toContain(adapter.textInput)
  })

  it('detects a version for cache keys, and voices (when it lists them) that it accepts', async () => {
    const { adapter } = await recordedAdapter(id)
    const detection = await adapter.detect(PROBE)
    expect(typeof detection.version).toBe('string')
    expect(detection.version.trim()).not.toBe('')
    if (detection.voices !== undefined) {
      expect(detection.voices.size).toBeGreaterThan(0)
      const [voice] = detection.voices
      const accepts = detection.hasVoice ?? ((name: string) => detection.voices?.has(name) ?? false)
      expect(accepts(voice ?? '')).toBe(true)
      expect(accepts('no-such-voice-7f3a')).toBe(false)
    }
  })

  it.each(RATES)('renders a canonical WAV at %i Hz with the text on stdin (or after `--`), never in argv', async (sampleRate) => {
    const recorded = await recordedAdapter(id)
    await recorded.adapter.detect(PROBE)
    await recorded.clear()
    const dir = await makeTempDir()
    const outPath = join(dir, 'out.wav')
    const audio = await renderToFile(renderJob(outPath, TEXT, { engine: id, sampleRate }), { engine: recorded.adapter })

    const bytes = await readFile(outPath)
    const check = parseWavHeader(bytes, bytes.length)
    expect(check.ok && isCanonicalWav(check.info, sampleRate)).toBe(true)
    expect(audio.bytes).toBe(bytes.length)

    const runs = await recorded.runs()
    expect(runs).toHaveLength(1)
    const [run] = runs
    const argv = run?.argv ?? []
    if (recorded.adapter.textInput === 'stdin') {
      expect(argv.filter((arg) => arg.includes('marker-7f3a9c1e'))).toEqual([])
      expect(run?.stdin.trimEnd()).toBe(TEXT)
    } else {
      // A CLI that cannot read stdin: the text is one element, the last, right after `--`.
      expect(argv.filter((arg) => arg.includes('marker-7f3a9c1e'))).toEqual([TEXT])
      expect(argv.slice(-2)).toEqual(['--', TEXT])
    }
  })
})
