/**
 * Access to the bytes captured from a real FreeSWITCH 1.10.12 (../shared/esl-captures, see its
 * README.txt). ESL_CAPTURES_DIR overrides the location.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

export const CAPTURES_DIR = process.env['ESL_CAPTURES_DIR'] ?? resolve(here, '../../../../shared/esl-captures')

export function capturesAvailable(): boolean {
  return existsSync(join(CAPTURES_DIR, 'README.txt'))
}

const cache = new Map<string, Buffer>()

/** The bytes of a capture file (read once; captures are read-only). */
export function captureBytes(relative: string): Buffer {
  let bytes = cache.get(relative)
  if (bytes === undefined) {
    bytes = readFileSync(join(CAPTURES_DIR, relative))
    cache.set(relative, bytes)
  }
  return bytes
}

export interface TranscriptEntry {
  readonly t_ms: number
  readonly dir: 'fs->peer' | 'peer->fs' | 'note'
  readonly len: number
  readonly text: string
}

export function transcript(relative: string): TranscriptEntry[] {
  return readFileSync(join(CAPTURES_DIR, relative), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TranscriptEntry)
}

/** What the peer wrote, in order (one entry per write). */
export function peerWrites(relative: string): string[] {
  return transcript(relative)
    .filter((e) => e.dir === 'peer->fs')
    .map((e) => e.text)
}

export interface ReferenceFrame {
  readonly headerText: string
  readonly body: Buffer | undefined
  /** Offset of the frame's first byte in the stream. */
  readonly start: number
  /** Offset just past the frame. */
  readonly end: number
}

/**
 * An independent, deliberately naive splitter (headers up to "\n\n", then Content-Length bytes)
 * used as the reference our codec is checked against.
 */
export function referenceFrames(bytes: Buffer): ReferenceFrame[] {
  const frames: ReferenceFrame[] = []
  let i = 0
  while (i < bytes.length) {
    const end = bytes.indexOf('\n\n', i)
    if (end < 0) throw new Error(`trailing bytes at ${i}`)
    const headerText = bytes.toString('utf8', i, end)
    const match = /^Content-Length: (\d+)$/m.exec(headerText)
    const length = match ? Number(match[1]) : undefined
    const body = length === undefined ? undefined : bytes.subarray(end + 2, end + 2 + length)
    const next = end + 2 + (length ?? 0)
    frames.push({ headerText, body, start: i, end: next })
    i = next
  }
  return frames
}

/** The first frame of a capture (the CHANNEL_DATA block of an outbound capture), with its "\n\n". */
export function firstFrameBytes(relative: string): Buffer {
  const bytes = captureBytes(relative)
  const end = bytes.indexOf('\n\n')
  return bytes.subarray(0, end + 2)
}

export const OUTBOUND = (scenario: string): string => `outbound/${scenario}.outbound.fs2peer.raw`
export const OUTBOUND_TRANSCRIPT = (scenario: string): string => `outbound/${scenario}.outbound.transcript.jsonl`
