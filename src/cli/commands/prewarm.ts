import { readFile } from 'node:fs/promises'
import { text as readStream } from 'node:stream/consumers'
import { setTimeout as sleep } from 'node:timers/promises'
import cliProgress from 'cli-progress'
import type { PrewarmBatches, PrewarmItem, PrewarmProgress } from '../../core/prewarm-batches.js'
import { parsePhraseList } from '../../core/phrase-list.js'
import { flagOverrides, parseCommandArgs } from '../args.js'
import { withLocalApp } from '../local-app.js'
import { err, EXIT, json, out, UsageError } from '../output.js'

interface Failure {
  readonly line: number
  readonly code: string
  readonly message: string
}

/**
 * `tts-cache prewarm <file|->`: one batch submitted to the app's pre-warm tracker, the one
 * POST /v1/prewarm uses (bounded concurrency at pre-warm priority, idempotent, retries while
 * the queue is full), on the cache directory directly. The tracker is sized to keep every
 * failure of the batch (each is printed). Exit 1 if any phrase failed.
 */
export async function prewarmCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    pin: { type: 'boolean' },
    voice: { type: 'string' },
    engine: { type: 'string' },
    rate: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (positionals.length !== 1) throw new UsageError('prewarm takes one file name, or - for stdin')
  const source = positionals[0] ?? '-'
  const content = source === '-' ? await readStream(process.stdin) : await readFile(source, 'utf8')
  const { items, errors } = parsePhraseList(content, {
    ...(values.voice === undefined ? {} : { voice: values.voice }),
    ...(values.engine === undefined ? {} : { engine: values.engine }),
    ...(values.rate === undefined ? {} : { sampleRate: values.rate }),
    ...(values.pin === true ? { pin: true } : {}),
  })
  const failures: Failure[] = errors.map((e) => ({ line: e.line, code: 'TTS_ERR_BAD_REQUEST', message: e.message }))

  // The app's tracker, sized to keep every failure; the app closes it (first) when withLocalApp closes the app.
  const sized = Math.max(items.length, 1)
  return withLocalApp(env, flagOverrides(values), values.config, async (app) => {
    const progress = await submitAndFollow(app.prewarm, items.map((i) => i.item), process.stderr.isTTY && values.json !== true)
    for (const e of progress?.errors ?? []) failures.push({ line: items[e.index]?.line ?? 0, code: e.code, message: e.message })
    failures.sort((a, b) => a.line - b.line)
    const cached = progress?.cached ?? 0
    const rendered = progress?.rendered ?? 0
    const summary = {
      total: items.length + errors.length,
      cached,
      rendered,
      coalesced: (progress?.done ?? 0) - cached - rendered,
      failed: failures.length,
      failures,
    }
    if (values.json === true) {
      json(summary)
    } else {
      out(`prewarm: ${summary.total} phrases: ${summary.cached} already cached, ${summary.rendered} rendered, ${summary.coalesced} joined or found cached, ${summary.failed} failed`)
      for (const f of failures) err(`  line ${f.line}: ${f.code}: ${f.message}`)
    }
    return failures.length > 0 ? EXIT.failed : EXIT.ok
  }, { prewarmOptions: { maxErrorsKept: sized, maxPendingItems: sized } })
}

/** Submits one batch and waits for it to settle, drawing a progress bar on stderr when asked. */
async function submitAndFollow(batches: PrewarmBatches, items: readonly PrewarmItem[], showBar: boolean): Promise<PrewarmProgress | undefined> {
  const accepted = batches.submit(items)
  const bar = showBar
    ? new cliProgress.SingleBar({ stream: process.stderr, format: 'prewarm [{bar}] {value}/{total} {eta_formatted} left' }, cliProgress.Presets.shades_classic)
    : undefined
  bar?.start(accepted.total, 0)
  let progress = batches.progress(accepted.id)
  // A progress bar is a view: sampling the batch a few times a second is all it needs.
  while (progress !== undefined && progress.state === 'running') {
    bar?.update(progress.done + progress.failed)
    await sleep(100)
    progress = batches.progress(accepted.id)
  }
  bar?.update(accepted.total)
  bar?.stop()
  return progress
}
