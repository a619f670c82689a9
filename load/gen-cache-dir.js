#!/usr/bin/env node
// @ts-check
/**
 * Creates a cache directory of N valid entries, quickly, in the DiskStore's layout
 * (src/store/disk/layout.ts, src/store/disk/sidecar.ts):
 *
 *   <cacheDir>/<k[0..2]>/<k[2..4]>/<key>.wav    PCM16 mono WAV at --rate
 *   <cacheDir>/<k[0..2]>/<k[2..4]>/<key>.json   {key,text,voice,engine,engineVersion,sampleRate,
 *                                                format,bytes,durationMs,createdAt,pinned}
 *
 * Keys are the service's real keys (cacheKeyFor over the sidecar's fields), so the entries
 * are hits for their texts. For the start-up and memory benchmarks (100,000 entries) and for
 * trying `tts-cache stats` / eviction on a big cache.
 *
 *   node load/gen-cache-dir.js --dir /tmp/cache-100k --entries 100000
 *
 * Options: --dir (required), --entries (100000), --rate (8000), --duration-ms (100: a small
 * file, the scan reads only headers), --engine (espeak-ng), --engine-version (bench),
 * --voices (comma list, default ''), --pinned-every (0: none; N: every Nth entry pinned),
 * --force (regenerate even if a complete directory is there).
 *
 * Needs `npm run build` (it imports the key function from the package's public entry, dist/index.js). Writes a marker file
 * `.gen-cache-dir.json` at the root when complete; the store ignores files at the root.
 * A second run with the same options is a no-op.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { AUDIO_FORMAT, cacheKeyFor } from '../dist/index.js'

export const MARKER_FILE = '.gen-cache-dir.json'

/**
 * @typedef {object} GenOptions
 * @property {string} dir
 * @property {number} entries
 * @property {number} [sampleRate]
 * @property {number} [durationMs]
 * @property {string} [engine]
 * @property {string} [engineVersion]
 * @property {readonly string[]} [voices]
 * @property {number} [pinnedEvery]
 * @property {boolean} [force]
 * @property {(done: number) => void} [onProgress]
 */

/**
 * A canonical 44-byte-header PCM16 mono WAV of `durationMs` (a quiet 440 Hz tone).
 * @param {number} sampleRate
 * @param {number} durationMs
 */
export function wavBytes(sampleRate, durationMs) {
  const samples = Math.max(1, Math.round((sampleRate * durationMs) / 1000))
  const dataBytes = samples * 2
  const buf = Buffer.alloc(44 + dataBytes)
  buf.write('RIFF', 0, 'ascii')
  buf.writeUInt32LE(36 + dataBytes, 4)
  buf.write('WAVE', 8, 'ascii')
  buf.write('fmt ', 12, 'ascii')
  buf.writeUInt32LE(16, 16)
  buf.writeUInt16LE(1, 20) // PCM
  buf.writeUInt16LE(1, 22) // mono
  buf.writeUInt32LE(sampleRate, 24)
  buf.writeUInt32LE(sampleRate * 2, 28)
  buf.writeUInt16LE(2, 32)
  buf.writeUInt16LE(16, 34)
  buf.write('data', 36, 'ascii')
  buf.writeUInt32LE(dataBytes, 40)
  for (let i = 0; i < samples; i++) buf.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)), 44 + i * 2)
  return buf
}

const WORDS = ['account', 'balance', 'payment', 'order', 'appointment', 'agent', 'office', 'ticket', 'request', 'delivery', 'invoice', 'service', 'option', 'menu', 'record', 'message']

/**
 * Text of entry i: realistic prompt length (60–110 characters), unique per i.
 * @param {number} i
 */
export function entryText(i) {
  const w = (/** @type {number} */ n) => WORDS[(i * 7 + n * 13) % WORDS.length]
  return `Prompt ${i}. Your ${w(1)} and ${w(2)} are being reviewed; press ${(i % 9) + 1} for the ${w(3)} ${w(4)} menu.`
}

/**
 * @param {GenOptions} options
 * @returns {{ dir: string, entries: number, reused: boolean, seconds: number }}
 */
export function generateCacheDir(options) {
  const started = performance.now()
  const dir = path.resolve(options.dir)
  const settings = {
    version: 1,
    entries: options.entries,
    sampleRate: options.sampleRate ?? 8000,
    durationMs: options.durationMs ?? 100,
    engine: options.engine ?? 'espeak-ng',
    engineVersion: options.engineVersion ?? 'bench',
    voices: [...(options.voices ?? [''])],
    pinnedEvery: options.pinnedEvery ?? 0,
  }
  const markerPath = path.join(dir, MARKER_FILE)
  if (options.force !== true) {
    try {
      const marker = JSON.parse(readFileSync(markerPath, 'utf8'))
      if (JSON.stringify(marker.settings) === JSON.stringify(settings)) {
        return { dir, entries: settings.entries, reused: true, seconds: (performance.now() - started) / 1000 }
      }
    } catch {
      // no marker (or an unreadable one): generate afresh
    }
  }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const wav = wavBytes(settings.sampleRate, settings.durationMs)
  const durationMs = Math.round(((wav.length - 44) / 2 / settings.sampleRate) * 1000)
  const made = new Set()
  const now = Date.now()
  for (let i = 0; i < settings.entries; i++) {
    const voice = settings.voices[i % settings.voices.length] ?? ''
    const text = entryText(i)
    const key = cacheKeyFor(
      { text, voice, engine: settings.engine, sampleRate: settings.sampleRate, format: AUDIO_FORMAT },
      settings.engineVersion,
    )
    const leaf = path.join(dir, key.slice(0, 2), key.slice(2, 4))
    if (!made.has(leaf)) {
      mkdirSync(leaf, { recursive: true })
      made.add(leaf)
    }
    writeFileSync(path.join(leaf, `${key}.wav`), wav)
    const meta = {
      key,
      text,
      voice,
      engine: settings.engine,
      engineVersion: settings.engineVersion,
      sampleRate: settings.sampleRate,
      format: AUDIO_FORMAT,
      bytes: wav.length,
      durationMs,
      // Oldest first, one second apart, all in the past.
      createdAt: now - (settings.entries - i) * 1000,
      pinned: settings.pinnedEvery > 0 && i % settings.pinnedEvery === 0,
    }
    writeFileSync(path.join(leaf, `${key}.json`), `${JSON.stringify(meta)}\n`)
    if (options.onProgress !== undefined && (i + 1) % 10_000 === 0) options.onProgress(i + 1)
  }
  writeFileSync(markerPath, `${JSON.stringify({ settings, createdAt: new Date().toISOString() }, null, 2)}\n`)
  return { dir, entries: settings.entries, reused: false, seconds: (performance.now() - started) / 1000 }
}

function main() {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      entries: { type: 'string', default: '100000' },
      rate: { type: 'string', default: '8000' },
      'duration-ms': { type: 'string', default: '100' },
      engine: { type: 'string', default: 'espeak-ng' },
      'engine-version': { type: 'string', default: 'bench' },
      voices: { type: 'string', default: '' },
      'pinned-every': { type: 'string', default: '0' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help === true || values.dir === undefined) {
    process.stdout.write('usage: node load/gen-cache-dir.js --dir DIR [--entries 100000] [--rate 8000] [--duration-ms 100]\n' +
      '       [--engine espeak-ng] [--engine-version bench] [--voices a,b] [--pinned-every N] [--force]\n')
    process.exit(values.help === true ? 0 : 2)
  }
  /** @param {string} name @param {string | undefined} raw */
  const int = (name, raw) => {
    const n = Number(raw)
    if (!Number.isSafeInteger(n) || n < 0) {
      process.stderr.write(`--${name} must be a non-negative integer, got ${raw}\n`)
      process.exit(2)
    }
    return n
  }
  const result = generateCacheDir({
    dir: values.dir,
    entries: int('entries', values.entries),
    sampleRate: int('rate', values.rate),
    durationMs: int('duration-ms', values['duration-ms']),
    engine: values.engine ?? 'espeak-ng',
    engineVersion: values['engine-version'] ?? 'bench',
    voices: (values.voices ?? '').split(','),
    pinnedEvery: int('pinned-every', values['pinned-every']),
    force: values.force === true,
    onProgress: (done) => process.stderr.write(`  ${done} entries\n`),
  })
  process.stdout.write(`${result.reused ? 'reused' : 'generated'} ${result.entries} entries in ${result.dir} (${result.seconds.toFixed(1)} s)\n`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main()
