/**
 * The ESL load tools are run by hand (docs/esl.md, load/README.md): `--help` or a mistyped option
 * must answer and exit, never start a load against 127.0.0.1:8040 or a benchmark (before this,
 * both ignored every unknown option, `--help` included, and ran).
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../harness/app/test-app.js'

function run(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, script), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe.each(['load/esl-load.ts', 'load/esl-bench.ts', 'load/esl-serve.ts'])('%s', (script) => {
  it('--help prints its usage and exits 0 without starting anything', () => {
    const r = run(script, ['--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(`usage: node ${script}`)
    expect(r.stdout).not.toContain('lookupsPerSecond')
  })

  it('an unknown option is refused with exit 2, naming it', () => {
    const r = run(script, ['--chanels', '5'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("'--chanels'")
    expect(r.stderr).toContain(`usage: node ${script}`)
  })
})
