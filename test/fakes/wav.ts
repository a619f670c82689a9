/** Fake audio: canonical PCM WAVs built in memory (no engine involved). */
import { createHash } from 'node:crypto'

export interface WavOptions {
  readonly sampleRate?: number
  /** Number of 16-bit samples. Default: 100 ms at the rate. */
  readonly samples?: number
  readonly channels?: number
  readonly bitsPerSample?: number
  /** Keep only this many bytes of the whole file (a truncated render). */
  readonly truncateTo?: number
}

/** A canonical 44-byte-header PCM WAV (mono 16-bit unless told otherwise) with a quiet ramp as audio. */
export function canonicalWav(options: WavOptions = {}): Buffer {
  const sampleRate = options.sampleRate ?? 8000
  const channels = options.channels ?? 1
  const bitsPerSample = options.bitsPerSample ?? 16
  const samples = options.samples ?? Math.round(sampleRate / 10)
  const blockAlign = channels * (bitsPerSample / 8)
  const dataBytes = samples * blockAlign
  const buf = Buffer.alloc(44 + dataBytes)
  buf.write('RIFF', 0, 'ascii')
  buf.writeUInt32LE(36 + dataBytes, 4)
  buf.write('WAVE', 8, 'ascii')
  buf.write('fmt ', 12, 'ascii')
  buf.writeUInt32LE(16, 16)
  buf.writeUInt16LE(1, 20)
  buf.writeUInt16LE(channels, 22)
  buf.writeUInt32LE(sampleRate, 24)
  buf.writeUInt32LE(sampleRate * blockAlign, 28)
  buf.writeUInt16LE(blockAlign, 32)
  buf.writeUInt16LE(bitsPerSample, 34)
  buf.write('data', 36, 'ascii')
  buf.writeUInt32LE(dataBytes, 40)
  for (let i = 44; i + 1 < buf.length; i += 2) buf.writeInt16LE(((i * 37) % 2000) - 1000, i)
  return options.truncateTo === undefined ? buf : buf.subarray(0, options.truncateTo)
}

/** A canonical PCM16 mono WAV with `samples` samples of a quiet ramp. */
export function testWav(sampleRate: number, samples: number): Buffer {
  return canonicalWav({ sampleRate, samples })
}

/** A PCM16 mono WAV whose samples derive from `text`: the same text gives the same bytes (8 kHz unless told). */
export function wavFor(text: string, sampleRate = 8000): Buffer {
  const seed = createHash('sha256').update(text).digest()
  const samples = Math.round(sampleRate / 5) + (seed[0] ?? 0)
  const buf = canonicalWav({ sampleRate, samples })
  for (let i = 0; i < samples; i++) buf.writeInt16LE(Math.round(Math.sin(i / (3 + ((seed[1] ?? 0) % 7))) * 8000), 44 + i * 2)
  return buf
}
