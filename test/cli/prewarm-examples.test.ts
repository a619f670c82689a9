import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ROOT } from '../harness/app/test-app.js'
import { runCli } from '../harness/cli/run-cli.js'

/** The README's quick-look step `prewarm examples/prompts.txt --pin` (issue 20: the file did not exist). */
const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

describe('tts-cache prewarm examples/prompts.txt', () => {
  it('renders every phrase of the sample list (comments and JSON lines read as the format says)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tts-prewarm-examples-'))
    dirs.push(dir)
    const r = await runCli(['prewarm', join(ROOT, 'examples/prompts.txt'), '--pin', '--json'], { TTS_CACHE_DIR: join(dir, 'cache') })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 5, rendered: 5, failed: 0 })
    const stats = JSON.parse((await runCli(['stats', '--json'], { TTS_CACHE_DIR: join(dir, 'cache') })).stdout) as { entries: number; pinnedEntries: number }
    expect(stats).toMatchObject({ entries: 5, pinnedEntries: 5 })
  })
})
