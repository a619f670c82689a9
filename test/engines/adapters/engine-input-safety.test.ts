import { access, mkdir, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createCommandEngine } from '../../../src/engines/adapters/command.js'
import { createEspeakNgEngine } from '../../../src/engines/adapters/espeak-ng.js'
import { renderToFile } from '../../../src/engines/pipeline/render-audio.js'
import { fixture, makeTempDir, readArgvFile, removeTempDirs, renderJob } from '../../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

interface Paths {
  /** Must never be created. */
  readonly marker: string
  /** An injected `-w` would write audio here. */
  readonly victim: string
  /** An injected `rm -rf` would delete this directory. */
  readonly keep: string
}

/**
 * Hostile texts and the side effects that must never happen. The `-w` case points at a victim
 * file in the temp dir rather than /etc/passwd: the protection is the same for any path, and a
 * regression must not be able to destroy the machine's passwd file (tests run as root).
 */
const HOSTILE_TEXTS: readonly { readonly name: string; readonly text: (p: Paths) => string }[] = [
  { name: 'an option and a path', text: (p) => `-w ${p.victim}` },
  { name: 'command substitution', text: (p) => `$(touch ${p.marker})` },
  { name: 'backticks', text: (p) => `\`touch ${p.marker}\`` },
  { name: 'quotes', text: (p) => `"'; touch ${p.marker}; echo '"` },
  { name: 'a command separator', text: (p) => `; rm -rf ${p.keep}; touch ${p.marker}` },
  { name: 'a leading dash', text: () => '--version' },
  { name: 'a lone dash', text: () => '-' },
  { name: 'a newline then an option', text: (p) => `hello\n-w ${p.victim}\n$(touch ${p.marker})` },
  { name: 'a pipe and redirection', text: (p) => `| touch ${p.marker} > ${p.victim}` },
  { name: 'SSML markup', text: (p) => `<speak><audio src="file://${p.victim}"/></speak>` },
]

async function hostilePaths(dir: string): Promise<Paths> {
  const paths = { marker: join(dir, 'pwned'), victim: join(dir, 'victim.wav'), keep: join(dir, 'keep') }
  await mkdir(paths.keep)
  return paths
}

async function expectNoSideEffects(paths: Paths): Promise<void> {
  expect(await exists(paths.marker)).toBe(false)
  expect(await exists(paths.victim)).toBe(false)
  expect(await exists(paths.keep)).toBe(true)
}

describe('engine input safety: the text is only ever spoken', () => {
  for (const hostile of HOSTILE_TEXTS) {
    it(`renders text with ${hostile.name} safely through espeak-ng`, async () => {
      const dir = await makeTempDir()
      const paths = await hostilePaths(dir)
      const work = join(dir, 'work')
      await mkdir(work)
      const text = hostile.text(paths)
      const argvFile = join(dir, 'argv')
      const stdinFile = join(dir, 'stdin')
      const outPath = join(work, 'out.wav')
      // The espeak-ng adapter, run through a fixture that records argv and stdin and then
      // execs the real espeak-ng with exactly those.
      const engine = createEspeakNgEngine({
        path: fixture('record-argv-espeak'),
        env: { TTS_FIXTURE_ARGV: argvFile, TTS_FIXTURE_STDIN: stdinFile },
      })

      const audio = await renderToFile(renderJob(outPath, text), { engine })

      expect(audio.durationMs).toBeGreaterThan(0)
      // 8 kHz needs sox, so the WAV is piped: no path in argv at all.
      expect(await readArgvFile(argvFile)).toEqual(['--stdin', '-b', '1', '--stdout'])
      expect(await readFile(stdinFile, 'utf8')).toBe(text)
      await expectNoSideEffects(paths)
      expect(await readdir(work)).toEqual(['out.wav'])
    })
  }

  it('passes hostile text to a command engine on stdin, never in argv', async () => {
    const dir = await makeTempDir()
    const paths = await hostilePaths(dir)
    const argvFile = join(dir, 'argv')
    const stdinFile = join(dir, 'stdin')
    const outPath = join(dir, 'out.wav')
    const text = `$(touch ${paths.marker}) -w ${paths.victim}; rm -rf ${paths.keep}`
    const engine = createCommandEngine({
      template: [fixture('record-argv-espeak'), '--stdin', '-w', '{out}'],
      env: { TTS_FIXTURE_ARGV: argvFile, TTS_FIXTURE_STDIN: stdinFile },
    })

    await renderToFile(renderJob(outPath, text, { engine: 'command' }), { engine })

    const argv = await readArgvFile(argvFile)
    expect(argv).toEqual(['--stdin', '-w', `${outPath}.engine.wav`])
    expect(argv.join('\n')).not.toContain('pwned')
    expect(await readFile(stdinFile, 'utf8')).toBe(text)
    await expectNoSideEffects(paths)
  })
})
