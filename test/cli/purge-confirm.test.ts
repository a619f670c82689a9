import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { purgeCommand } from '../../src/cli/commands/purge.js'
import type { Prompt } from '../../src/cli/confirm.js'
import { listFiles, tempDir } from '../harness/app/test-app.js'
import { runCli } from '../harness/cli/run-cli.js'

let dir: string
let cleanup: () => Promise<void>
let env: Record<string, string>

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('tts-purge-'))
  env = { TTS_CACHE_DIR: join(dir, 'cache'), TTS_LOG_LEVEL: 'error' }
  const list = join(dir, 'prompts.txt')
  await writeFile(list, ['{"text":"Pinned line","pin":true}', 'First plain line', 'Second plain line'].join('\n'))
  expect((await runCli(['prewarm', list], env)).code).toBe(0)
})
afterEach(async () => cleanup())

/** A terminal (isTTY) whose user types `typed`; `asked()` is what was written to it. */
function terminal(typed: string): { prompt: Prompt; asked: () => string } {
  const input = Object.assign(new PassThrough(), { isTTY: true })
  const output = new PassThrough()
  let asked = ''
  output.setEncoding('utf8').on('data', (d: string) => (asked += d))
  input.end(typed)
  return { prompt: { input, output }, asked: () => asked }
}

async function wavs(): Promise<number> {
  return (await listFiles(dir)).filter((f) => f.endsWith('.wav')).length
}

describe('tts-cache purge --all on a terminal', () => {
  it.each([['n\n'], ['\n'], ['']])('asks first and removes nothing on %j', async (typed) => {
    const t = terminal(typed)
    expect(await purgeCommand(['--all'], env, t.prompt)).toBe(1)
    expect(t.asked()).toContain(`Remove all 2 unpinned entries from ${join(dir, 'cache')}? [y/N]`)
    expect(await wavs()).toBe(3)
  })

  it('removes the unpinned entries after a yes, and asks nothing with --yes', async () => {
    const yes = terminal('y\n')
    expect(await purgeCommand(['--all'], env, yes.prompt)).toBe(0)
    expect(yes.asked()).toContain('[y/N]')
    expect(await wavs()).toBe(1)
    const skip = terminal('')
    expect(await purgeCommand(['--all', '--yes', '--include-pinned'], env, skip.prompt)).toBe(0)
    expect(skip.asked()).toBe('')
    expect(await wavs()).toBe(0)
  })
})
