import { execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = new URL('../', import.meta.url).pathname

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/**
 * Tests that spawn `tts-cache` run the built CLI (dist/), as operators do. `npm test` builds
 * first; when vitest runs alone and src/ is newer than dist/, build here once.
 */
export default function setup(): void {
  let built = 0
  try {
    built = statSync(join(ROOT, 'dist/cli/main.js')).mtimeMs
  } catch {
    built = 0
  }
  if (built < newestMtime(join(ROOT, 'src'))) {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' })
  }
}
