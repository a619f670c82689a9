import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url))

describe('k6 scripts', () => {
  it('type-check against @types/k6 (load/k6/tsconfig.json), so they cannot rot', async () => {
    const result = await execa(process.execPath, [tsc, '-p', 'load/k6/tsconfig.json', '--noEmit', '--pretty', 'false'], {
      cwd: root,
      reject: false,
      timeout: 120_000,
      all: true,
    })
    expect(result.all, 'tsc reported errors in load/k6').toBe('')
    expect(result.exitCode).toBe(0)
  })

  it('name every script the README documents', async () => {
    const { readdir, readFile } = await import('node:fs/promises')
    const scripts = (await readdir(new URL('../../load/k6/', import.meta.url))).filter((f) => f.endsWith('.ts'))
    const readme = await readFile(new URL('../../load/README.md', import.meta.url), 'utf8')
    expect(scripts.sort()).toEqual(['dogpile.ts', 'mixed.ts', 'prewarm.ts'])
    for (const script of scripts) expect(readme).toContain(`load/k6/${script}`)
  })
})
