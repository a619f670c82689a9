import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { SharedDirAudio } from '../../../src/store/shared/index.js'
import { jobFor } from '../../harness/queue/render-jobs.js'

describe('SharedDirAudio', () => {
  const root = '/srv/tts-cache'
  const key = jobFor('Welcome.', '').key

  it('stages a render next to the asking node’s slot, under a name the store does not treat as its own temp file', async () => {
    const staged = await new SharedDirAudio({ root }).stagingPath(key, path.join(root, 'ab', 'cd', `${key}.slot.tmp`), 'w1')
    expect(path.dirname(staged)).toBe(path.join(root, 'ab', 'cd'))
    expect(path.basename(staged)).toBe(`.${key}.worker-w1.wav`)
  })

  it('refuses a job target outside the shared cache dir or named for another key (the path comes from Redis)', async () => {
    const tier = new SharedDirAudio({ root })
    await expect(tier.stagingPath(key, `/etc/${key}.wav`, 'w1')).rejects.toMatchObject({ code: 'TTS_ERR_BAD_REQUEST' })
    await expect(tier.stagingPath(key, path.join(root, 'other.wav'), 'w1')).rejects.toMatchObject({ code: 'TTS_ERR_BAD_REQUEST' })
    await expect(tier.stagingPath(key, undefined, 'w1')).rejects.toMatchObject({ code: 'TTS_ERR_BAD_REQUEST' })
  })
})
