import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../harness/app/test-app.js'

/**
 * docs/architecture.md gives the grep that proves one composition root (nothing outside src/app/
 * constructs the store, queues, workers, service, catalog, renderer, pre-warm tracker or shared
 * tier). This runs the very command the document shows, so the proof cannot go stale.
 */
describe('one composition root', () => {
  it('the grep in docs/architecture.md prints nothing', () => {
    const doc = readFileSync(`${ROOT}/docs/architecture.md`, 'utf8')
    const block = /```sh\n(grep -rnE (?:--exclude-dir=\.out )?"new \(DiskStore[\s\S]*?)\n```/.exec(doc)?.[1]
    expect(block, 'the one-root grep block in docs/architecture.md').toBeDefined()
    // grep exits 1 when it prints nothing: that is the pass; anything printed is a stray constructor.
    let printed = ''
    try {
      printed = execFileSync('bash', ['-c', block ?? 'false'], { cwd: ROOT, encoding: 'utf8' })
    } catch (err) {
      const status = (err as { status?: number }).status
      if (status !== 1) throw err
    }
    expect(printed).toBe('')
  })

  it('load/ imports no deep dist/ path (only the package entry, the root and the CLI)', () => {
    const out = execFileSync('grep', ['-rn', '--exclude-dir=.out', '--include=*.js', '--include=*.ts', "from '[./]*dist/", 'load'], { cwd: ROOT, encoding: 'utf8' }).split('\n')
    const deep = out.filter((line) => line !== '' && !/dist\/(index|app\/index|cli\/[a-z-]+)\.js'/.test(line))
    expect(deep).toEqual([])
  })
})
