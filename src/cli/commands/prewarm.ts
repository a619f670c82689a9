import { readFile } from 'node:fs/promises'
import { text as readStream } from 'node:stream/consumers'
import cliProgress from 'cli-progress'
import { toTtsError } from '../../core/errors.js'
import { parsePrewarmLines } from '../../core/prewarm-input.js'
import type { ResultStatus } from '../../core/tts-service.js'
import { flagOverrides, parseCommandArgs } from '../args.js'
import { withLocalApp } from '../local-app.js'
import { err, EXIT, json, out, UsageError } from '../output.js'

interface Failure {
  readonly line: number
  readonly code: string
  readonly message: string
}

export async function prewarmCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    pin: { type: 'boolean' },
    voice: { type: 'string' },
    engine: { type: 'string' },
    rate: { type: 'string' },
    concurrency: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (positionals.length !== 1) throw new UsageError('prewarm takes one file name, or - for stdin')
  const concurrency = Number(values.concurrency ?? 8)
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError('--concurrency must be 1..256')
  const source = positionals[0] ?? '-'
  const content = source === '-' ? await readStream(process.stdin) : await readFile(source, 'utf8')
  const { items, errors } = parsePrewarmLines(content, {
    ...(values.voice === undefined ? {} : { voice: values.voice }),
    ...(values.engine === undefined ? {} : { engine: values.engine }),
    ...(values.rate === undefined ? {} : { sampleRate: values.rate }),
    ...(values.pin === true ? { pin: true } : {}),
  })
  const failures: Failure[] = errors.map((e) => ({ line: e.line, code: 'TTS_ERR_BAD_REQUEST', message: e.message }))
  const counts: Record<ResultStatus, number> = { hit: 0, rendered: 0, coalesced: 0 }

  return withLocalApp(env, flagOverrides(values), values.config, async (app) => {
    const bar = process.stderr.isTTY && values.json !== true
      ? new cliProgress.SingleBar({ stream: process.stderr, format: 'prewarm [{bar}] {value}/{total} {eta_formatted} left' }, cliProgress.Presets.shades_classic)
      : undefined
    bar?.start(items.length, 0)
    let next = 0
    // Bounded concurrency: pre-warm must not fill the render queue that live calls need.
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const { line, item } = items[next++] as (typeof items)[number]
        try {
          const result = await app.service.get(item, { priority: 'prewarm', pin: item.pin === true, source: 'cli' })
          counts[result.status]++
        } catch (error) {
          const e = toTtsError(error)
          failures.push({ line, code: e.code, message: e.message })
        }
        bar?.increment()
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(items.length, 1)) }, worker))
    bar?.stop()
    failures.sort((a, b) => a.line - b.line)
    const summary = { total: items.length + errors.length, cached: counts.hit, rendered: counts.rendered, coalesced: counts.coalesced, failed: failures.length, failures }
    if (values.json === true) {
      json(summary)
    } else {
      out(`prewarm: ${summary.total} phrases: ${summary.cached} already cached, ${summary.rendered} rendered, ${summary.coalesced} coalesced, ${summary.failed} failed`)
      for (const f of failures) err(`  line ${f.line}: ${f.code}: ${f.message}`)
    }
    return failures.length > 0 ? EXIT.failed : EXIT.ok
  })
}
