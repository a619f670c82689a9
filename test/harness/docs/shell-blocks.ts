/**
 * The fenced code blocks of the project's markdown files, with the marker that says what becomes
 * of each shell block (issue 20 item 7: every command a document prints is run by a test or says
 * why it cannot be). The marker is an HTML comment on the line right above the fence:
 *
 *   <!-- doc-shell: run by test/docs/scale-out-examples.test.ts -->
 *   <!-- doc-shell: run by .ci/run (the README's test command, verbatim) -->
 *   <!-- doc-shell: not run: needs a Docker engine (none here, none in CI) -->
 *   <!-- doc-recipe: <name> (run by test/freeswitch/real-freeswitch.test.ts) -->
 *
 * test/docs/shell-blocks.test.ts checks that every shell block carries one; the running tests
 * fetch their blocks through `markedShellBlocks`.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ROOT } from '../app/test-app.js'

/** Languages whose blocks an operator would paste into a shell. */
export const SHELL_LANGS: ReadonlySet<string> = new Set(['sh', 'bash', 'shell', 'console', 'zsh'])

export interface DocBlock {
  /** Path relative to the repository root. */
  readonly file: string
  /** 1-based line of the opening fence. */
  readonly line: number
  readonly lang: string
  /** The block's text, its fence's indentation removed, ending in a newline. */
  readonly body: string
  /** The `doc-shell:` / `doc-recipe:` comment right above the fence, if any. */
  readonly marker: string | undefined
}

const SKIP_DIRS = new Set(['node_modules', '.tools', '.git', 'dist', '.tmp', '.out'])

/** Every tracked-looking markdown file of the repository (build output, packages and tools left out). */
export function markdownFiles(dir = ROOT): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) found.push(...markdownFiles(join(dir, entry.name)))
    } else if (entry.isFile() && entry.name.endsWith('.md')) {
      found.push(relative(ROOT, join(dir, entry.name)))
    }
  }
  return found.sort()
}

/** The fenced blocks of `file` (relative to the root), in order. */
export function docBlocks(file: string): DocBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n')
  const blocks: DocBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!)
    if (open === null) continue
    const indent = open[1]!.length
    let end = i + 1
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++
    const body = lines.slice(i + 1, end).map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
    const above = /^\s*<!--\s*(doc-shell:.*?|doc-recipe:.*?)\s*-->\s*$/.exec(lines[i - 1] ?? '')
    blocks.push({ file, line: i + 1, lang: open[2]!, body: `${body.join('\n')}\n`, marker: above?.[1] })
    i = end
  }
  return blocks
}

/** The shell blocks of `file` whose marker says they are run by `testFile` (relative to the root). */
export function markedShellBlocks(file: string, testFile: string): DocBlock[] {
  return docBlocks(file).filter((b) => SHELL_LANGS.has(b.lang) && b.marker !== undefined && b.marker.includes(`run by ${testFile}`))
}
