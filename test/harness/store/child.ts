/**
 * A second process on the same cache dir, for the disk-store tests. Speaks in lines:
 * stdout reports state, stdin takes commands. Run through child-process.ts.
 *
 *   crash <cacheDir> <key>   claim, write half a WAV to the temp path, print `ready <tempPath>`, hang
 *   commit <cacheDir> <key>  claim, render, commit and release as a render does, print
 *                            `published <tempPath>`, exit 0; as the commit resolves it looks for
 *                            `<cacheDir>/commit-resolved` (never there: the access(2) marks in a
 *                            syscall trace when the commit had resolved)
 *   hold  <cacheDir> <key>   claim, print `owned <tempPath>`, then obey stdin:
 *                              publish → render, commit, print `published`, exit 0
 *                              release → release the slot, print `released`, exit 0
 *                              exit    → exit 0 at once, leaving the lock behind (a dead owner)
 */
import { createInterface } from 'node:readline'
import type { Logger } from '../../../src/core/ports/index.js'
import { DiskStore } from '../../../src/store/disk/disk-store.js'
import { canonicalWav } from '../../fakes/wav.js'
import { renderInto, slotMeta } from './fixtures.js'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'

const [mode, cacheDir, key] = process.argv.slice(2)

const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (obj, msg) => process.stderr.write(`warn ${msg ?? ''} ${JSON.stringify(obj)}\n`),
  error: (obj, msg) => process.stderr.write(`error ${msg ?? ''} ${JSON.stringify(obj)}\n`),
  child: () => logger,
}

function say(line: string): void {
  process.stdout.write(`${line}\n`)
}

async function main(): Promise<void> {
  if (cacheDir === undefined || key === undefined) throw new Error('usage: store-child <mode> <cacheDir> <key>')
  const store = await DiskStore.open({ cacheDir, logger })
  const claim = await store.claim(key)
  if (claim.state !== 'owned') throw new Error(`expected to own ${key}, got ${claim.state}`)
  const { slot } = claim
  if (mode === 'crash') {
    const wav = canonicalWav({ samples: 4000 })
    await fs.writeFile(slot.tempPath, wav.subarray(0, Math.floor(wav.length / 2)))
    say(`ready ${slot.tempPath}`)
    setInterval(() => undefined, 60_000)
    return
  }
  if (mode === 'commit') {
    const audio = await renderInto(slot, canonicalWav())
    await slot.commit(slotMeta({ text: 'durable' }), audio)
    // On this thread, in the same turn as the commit's resolution.
    if (existsSync(`${cacheDir}/commit-resolved`)) throw new Error('commit-resolved must not exist')
    await slot.release()
    say(`published ${slot.tempPath}`)
    return
  }
  if (mode !== 'hold') throw new Error(`unknown mode ${String(mode)}`)
  say(`owned ${slot.tempPath}`)
  for await (const command of createInterface({ input: process.stdin })) {
    if (command === 'publish') {
      const audio = await renderInto(slot, canonicalWav())
      await slot.commit(slotMeta({ text: 'from the child' }), audio)
      await slot.release()
      say('published')
      process.exit(0)
    } else if (command === 'release') {
      await slot.release()
      say('released')
      process.exit(0)
    } else if (command === 'exit') {
      process.exit(0)
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`store-child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(2)
})
