import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createCommandEngine } from '../../../src/engines/adapters/command.js'
import { renderToFile } from '../../../src/engines/pipeline/render-audio.js'
import { fixture, makeTempDir, readArgvFile, removeTempDirs, renderJob } from '../../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

describe('command engine (operator argv template)', () => {
  it('substitutes {out}, {voice} and {rate} inside each element, never splitting one', () => {
    const engine = createCommandEngine({
      template: ['/opt/tts/bin/say', '--out={out}', '--voice', '{voice}', '--rate', '{rate}', 'a b {rate}Hz'],
    })
    expect(engine.binary).toBe('/opt/tts/bin/say')
    expect(engine.textInput).toBe('stdin')
    expect(engine.argv({ outPath: '/cache/ab/x y.wav', voice: 'en-us+f3', sampleRate: 16000 })).toEqual([
      '--out=/cache/ab/x y.wav',
      '--voice',
      'en-us+f3',
      '--rate',
      '16000',
      'a b 16000Hz',
    ])
  })

  it('renders with the real program: placeholders substituted, text on stdin', async () => {
    const dir = await makeTempDir()
    const argvFile = join(dir, 'argv')
    const stdinFile = join(dir, 'stdin')
    const outPath = join(dir, 'out.wav')
    const engine = createCommandEngine({
      template: [fixture('record-argv-espeak'), '--stdin', '-w', '{out}', '-v', '{voice}'],
      env: { TTS_FIXTURE_ARGV: argvFile, TTS_FIXTURE_STDIN: stdinFile },
    })

    const audio = await renderToFile(renderJob(outPath, 'Hello from a template', { engine: 'command', voice: 'en-gb' }), { engine })

    expect(await readArgvFile(argvFile)).toEqual(['--stdin', '-w', `${outPath}.engine.wav`, '-v', 'en-gb'])
    expect(await readFile(stdinFile, 'utf8')).toBe('Hello from a template')
    expect(audio.durationMs).toBeGreaterThan(0)
  })

  it('rejects templates that could not work or would put the text in argv (TTS_ERR_CONFIG)', () => {
    const bad: string[][] = [
      [],
      ['', '{out}'],
      ['{out}'],
      ['tts', '--out', 'x.wav'],
      ['tts', '{out}', '{text}'],
      ['tts', '{out}', '{speed}'],
    ]
    for (const template of bad) {
      expect(() => createCommandEngine({ template }), JSON.stringify(template)).toThrow(expect.objectContaining({ code: 'TTS_ERR_CONFIG' }))
    }
  })

  it('versions itself by the template unless a version is pinned', async () => {
    const probe = { timeoutMs: 5000, killGraceMs: 100 }
    const a = await createCommandEngine({ template: [fixture('count-invocations'), '{out}'] }).detect(probe)
    const b = await createCommandEngine({ template: [fixture('count-invocations'), '{out}', '-x'] }).detect(probe)
    const pinned = await createCommandEngine({ template: [fixture('count-invocations'), '{out}'], version: 'v7' }).detect(probe)
    expect(a.version).toMatch(/^template-[0-9a-f]{16}$/)
    expect(b.version).not.toBe(a.version)
    expect(pinned.version).toBe('v7')
  })

  it('is unavailable when its program is missing', async () => {
    const engine = createCommandEngine({ template: ['/nonexistent/tts', '{out}'] })
    await expect(engine.detect({ timeoutMs: 5000, killGraceMs: 100 })).rejects.toMatchObject({ code: 'TTS_ERR_ENGINE_UNAVAILABLE' })
  })
})
