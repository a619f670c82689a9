/**
 * The SharedAudio contract (src/core/ports/shared-audio.ts), run against every tier: what a
 * worker stages and publishes, the asking node collects at its output path, byte for byte; a tier
 * never answers audio that is not a canonical WAV at the asked rate.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { SharedAudio } from '../../src/core/ports/index.js'
import { jobFor, SAMPLE_RATE } from '../harness/queue/render-jobs.js'
import { wavFor } from '../fakes/wav.js'

export interface SharedAudioSetup {
  readonly tier: SharedAudio
  /** A render slot temp path of the asking node for `key` (in its cache dir: the shared one for shared-dir). */
  outPathFor(key: string, label: string): Promise<string>
  cleanup(): Promise<void>
}

/** Stages and publishes `wav` for `key` as a worker does. */
async function publishAsWorker(tier: SharedAudio, key: string, target: string | undefined, wav: Buffer, unique: string): Promise<void> {
  const staged = await tier.stagingPath(key, target, unique)
  await mkdir(path.dirname(staged), { recursive: true })
  await writeFile(staged, wav)
  await tier.publish(key, { path: staged, wav, durationMs: 200 }, target)
}

export function sharedAudioContract(name: string, setup: () => Promise<SharedAudioSetup>): void {
  describe(`SharedAudio contract: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = []
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    })
    async function start(): Promise<SharedAudioSetup> {
      const s = await setup()
      cleanups.push(() => s.cleanup())
      return s
    }

    it('delivers what a worker published to the asking node’s output path, byte for byte', async () => {
      const s = await start()
      const text = 'Your call is important to us.'
      const out = await s.outPathFor(jobFor(text, '').key, 'a')
      const job = jobFor(text, out)
      const wav = wavFor(text)
      const target = s.tier.jobTarget(out)
      await publishAsWorker(s.tier, job.key, target, wav, 'w1')
      const delivered = await s.tier.collect(job.key, SAMPLE_RATE, { bytes: wav.byteLength, durationMs: 200 })
      expect(delivered).toBeDefined()
      const audio = delivered?.kind === 'bytes' ? await s.tier.writeTo(out, delivered.wav) : delivered?.audio
      expect(audio?.bytes).toBe(wav.byteLength)
      expect(await readFile(out)).toEqual(wav)
    })

    it('answers nothing for a key nobody published', async () => {
      const s = await start()
      const job = jobFor('Nobody asked for this.', await s.outPathFor(jobFor('Nobody asked for this.', '').key, 'a'))
      expect(await s.tier.findPublished(job.key, SAMPLE_RATE)).toBeUndefined()
      expect(await s.tier.collect(job.key, SAMPLE_RATE, undefined)).toBeUndefined()
      expect(await s.tier.fetch(job.key)).toBeUndefined()
    })

    it('never answers published audio that is not a canonical WAV at the asked rate', async () => {
      const s = await start()
      const text = 'Rendered at the wrong rate.'
      const out = await s.outPathFor(jobFor(text, '').key, 'a')
      const job = jobFor(text, out)
      await publishAsWorker(s.tier, job.key, s.tier.jobTarget(out), wavFor(text, 16000), 'w1')
      expect(await s.tier.findPublished(job.key, SAMPLE_RATE)).toBeUndefined()
    })

    it('stages every render at a path of its own, and a removed entry is not found again', async () => {
      const s = await start()
      const text = 'Press two.'
      const out = await s.outPathFor(jobFor(text, '').key, 'a')
      const job = jobFor(text, out)
      const target = s.tier.jobTarget(out)
      const [one, two] = await Promise.all([s.tier.stagingPath(job.key, target, 'u1'), s.tier.stagingPath(job.key, target, 'u2')])
      expect(one).not.toBe(two)
      expect(one).not.toBe(out)
      await publishAsWorker(s.tier, job.key, target, wavFor(text), 'u3')
      await s.tier.remove(job.key)
      expect(await s.tier.findPublished(job.key, SAMPLE_RATE)).toBeUndefined()
    })

    it('names the transport the job data and results carry', async () => {
      const s = await start()
      expect(['redis', 'shared-dir']).toContain(s.tier.transport)
    })
  })
}
