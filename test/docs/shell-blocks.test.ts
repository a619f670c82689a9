/**
 * Issue 20 item 7: every command a document prints is pasted and run by a test, or says why it
 * cannot be. Every shell block (```sh, ```bash…) of every markdown file carries a marker on the
 * line above it (test/harness/docs/shell-blocks.ts): `doc-shell: run by <file>` / `doc-recipe: …
 * (run by <file>)`, where <file> exists and names the document (or holds one of the block's
 * commands verbatim), or `doc-shell: not run: <reason>`. A new block without one fails here
 * until someone decides which it is; so does a block of commands left unlabelled (no language:
 * nobody would know it is meant for a shell) and a marker above no shell block. The commands the
 * prose names inline (`tts-cache purge --engine espeak-ng`) are checked against the CLI itself:
 * each command exists and its --help lists each option; an option the text shows being refused
 * (`tts-cache stats --jsn` → `unknown option '--jsn' …`) is run and must be refused so.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../harness/app/test-app.js'
import { docBlocks, markdownFiles, SHELL_LANGS, type DocBlock } from '../harness/docs/shell-blocks.js'

/** An unlabelled block whose first line starts like a command someone would type. */
const LOOKS_LIKE_A_COMMAND = /^(\$ |sudo |node |npm |npx |curl |bash |tts-cache |redis-server |redis-cli |docker |systemctl |journalctl |fs_cli |k6 |git |apt-get |export |cd )/

function commandLines(block: DocBlock): string[] {
  return block.body
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
}

/** What is wrong with the block's marker, or undefined. */
function problem(block: DocBlock): string | undefined {
  const marker = block.marker
  if (marker === undefined) return 'no marker: add `<!-- doc-shell: run by <test file> -->` (and run it there) or `<!-- doc-shell: not run: <why> -->` right above the fence'
  const notRun = /^doc-shell: not run: (.+)$/.exec(marker)
  if (notRun !== null) return notRun[1]!.trim().length >= 20 ? undefined : `"${marker}": say why it cannot run here (20 characters at least)`
  const runBy = /^doc-(?:shell|recipe):.*?\brun by ([\w./-]+)/.exec(marker)
  if (runBy === null) return `"${marker}": neither "run by <file>" nor "not run: <why>"`
  const runner = runBy[1]!
  if (!existsSync(join(ROOT, runner))) return `"${marker}": ${runner} does not exist`
  const text = readFileSync(join(ROOT, runner), 'utf8')
  if (text.includes(block.file) || commandLines(block).some((c) => text.includes(c))) return undefined
  return `"${marker}": ${runner} names neither ${block.file} nor any of the block's commands`
}

describe('every shell block of the documents is run or says why not', () => {
  const files = markdownFiles()
  const blocks = files.flatMap((f) => docBlocks(f))
  const shell = blocks.filter((b) => SHELL_LANGS.has(b.lang))

  it('finds the documents and their shell blocks', () => {
    for (const doc of ['README.md', 'CONTRIBUTING.md', 'docs/operations.md', 'docs/scale-out.md', 'docs/http.md', 'freeswitch/README.md', 'load/README.md']) expect(files).toContain(doc)
    expect(shell.length).toBeGreaterThan(30)
  })

  it('each shell block: run by a test (or CI) that reads it, or marked not runnable with a reason', () => {
    const wrong = shell.map((b) => [b, problem(b)] as const).filter(([, p]) => p !== undefined).map(([b, p]) => `${b.file}:${b.line}: ${p}`)
    expect(wrong).toEqual([])
  })

  it('no block of commands is left without a language (it would escape the check above)', () => {
    const unlabelled = blocks.filter((b) => b.lang === '' && LOOKS_LIKE_A_COMMAND.test(b.body.trimStart())).map((b) => `${b.file}:${b.line}: label it \`\`\`sh (and mark it)`)
    expect(unlabelled).toEqual([])
  })

  it('every marker sits above a shell block', () => {
    const stray = blocks.filter((b) => b.marker !== undefined && !SHELL_LANGS.has(b.lang)).map((b) => `${b.file}:${b.line}: a marker above a \`\`\`${b.lang} block`)
    expect(stray).toEqual([])
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), 'utf8')
      const markers = (text.match(/^\s*<!--\s*doc-(?:shell|recipe):/gm) ?? []).length
      const placed = docBlocks(file).filter((b) => b.marker !== undefined).length
      expect(markers, `${file}: a doc-shell/doc-recipe marker not right above a fence`).toBe(placed)
    }
  })
})

const MAIN = join(ROOT, 'dist/cli/main.js')

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '', LANG: 'C.UTF-8' } })
}

describe('the tts-cache commands the documents name inline', () => {
  it('exist, with the options they are given (or are refused as the text says)', () => {
    const top = cli(['--help']).stdout
    const commands = new Set([...top.slice(top.indexOf('Commands:')).matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!))
    expect([...commands]).toEqual(expect.arrayContaining(['serve', 'worker', 'get', 'prewarm', 'stats', 'purge', 'doctor']))
    const help = new Map<string, string>()
    const wrong: string[] = []
    let checked = 0
    for (const file of markdownFiles()) {
      const text = readFileSync(join(ROOT, file), 'utf8')
      for (const m of text.matchAll(/`tts-cache ([^`]+)`/g)) {
        const tokens = m[1]!.split(/\s+/)
        const command = tokens.find((t) => commands.has(t))
        if (command === undefined) continue
        const end = tokens.indexOf('--')
        const options = (end < 0 ? tokens : tokens.slice(0, end)).filter((t) => /^--?[a-z]/.test(t)).map((t) => t.split('=')[0]!)
        if (!help.has(command)) help.set(command, cli([command, '--help']).stdout)
        for (const option of options) {
          checked++
          if (new RegExp(`(^|[\\s,])${option}([\\s,]|$)`, 'm').test(help.get(command)!)) continue
          const refusal = `unknown option '${option}'`
          const shown = text.slice(m.index, m.index + m[0].length + 80).includes(refusal)
          const refused = shown && cli(tokens.filter((t) => t !== 'tts-cache')).stderr.includes(refusal)
          if (!refused) wrong.push(`${file}: \`tts-cache ${m[1]}\`: ${option} is not an option of ${command}${shown ? ' (the text shows it refused, but it was not)' : ''}`)
        }
      }
    }
    expect(wrong).toEqual([])
    expect(checked).toBeGreaterThan(5)
  }, 60_000)
})
