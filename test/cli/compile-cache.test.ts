import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { compileCacheDir } from '../../src/cli/compile-cache.js'
import { tempDir } from '../harness/app/test-app.js'
import { runCli } from '../harness/cli/run-cli.js'

let dir: string
let cleanup: () => Promise<void>

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('tts-compile-cache-'))
})
afterEach(async () => cleanup())

/** The files Node wrote under a compile cache directory (one subdirectory per Node version and V8 flags). */
async function cachedFiles(root: string): Promise<string[]> {
  if (!existsSync(root)) return []
  const files: string[] = []
  for (const sub of await readdir(root)) files.push(...(await readdir(join(root, sub))).map((f) => join(sub, f)))
  return files
}

describe('compileCacheDir', () => {
  it('TTS_COMPILE_CACHE_DIR, then NODE_COMPILE_CACHE, then systemd CacheDirectory=, then the XDG cache; never the temp dir', () => {
    expect(compileCacheDir({ TTS_COMPILE_CACHE_DIR: '/srv/cc', NODE_COMPILE_CACHE: '/n', HOME: '/h' })).toBe('/srv/cc')
    expect(compileCacheDir({ TTS_COMPILE_CACHE_DIR: 'off', NODE_COMPILE_CACHE: '/n' })).toBeUndefined()
    expect(compileCacheDir({ NODE_COMPILE_CACHE: '/n', CACHE_DIRECTORY: '/var/cache/tts-cache' })).toBe('/n')
    expect(compileCacheDir({ CACHE_DIRECTORY: '/var/cache/tts-cache:/var/cache/other', HOME: '/h' })).toBe('/var/cache/tts-cache/node-compile-cache')
    expect(compileCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/tts-cache/node-compile-cache')
    expect(compileCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/h' })).toBe('/h/.cache/tts-cache/node-compile-cache')
    expect(compileCacheDir({ HOME: '/h' })).toBe('/h/.cache/tts-cache/node-compile-cache')
  })
})

describe('the tts-cache bin and the compile cache', () => {
  it('writes the compiled code to the XDG cache by default, and the next start re-uses it', async () => {
    const env = { HOME: dir, TTS_CACHE_DIR: join(dir, 'cache') }
    const first = await runCli(['--version'], env)
    expect(first.code).toBe(0)
    const root = join(dir, '.cache/tts-cache/node-compile-cache')
    expect((await cachedFiles(root)).length).toBeGreaterThan(3)
    const second = await runCli(['--version'], { ...env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' })
    expect(second.code).toBe(0)
    expect(second.stdout).toBe(first.stdout)
    expect(second.stderr).toMatch(/dist\/cli\/run\.js was accepted/)
  })

  it('TTS_COMPILE_CACHE_DIR=off writes none', async () => {
    const result = await runCli(['--version'], { HOME: dir, TTS_COMPILE_CACHE_DIR: 'off' })
    expect(result.code).toBe(0)
    expect(existsSync(join(dir, '.cache'))).toBe(false)
  })

  it('fails soft: a directory that cannot be made leaves the cache off and the command runs', async () => {
    const file = join(dir, 'a-file')
    await writeFile(file, '')
    const result = await runCli(['--version'], { HOME: dir, TTS_COMPILE_CACHE_DIR: join(file, 'cc') })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
    expect(existsSync(join(dir, '.cache'))).toBe(false)
  })
})
