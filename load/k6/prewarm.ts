/**
 * prewarm — bulk pre-warm of a phrase list, then poll progress until done.
 *
 *   POST /v1/prewarm {items:[{text, voice?, pin?}]} → 202 {id, ...}
 *   GET  /v1/prewarm/:id → {state, total, done, failed, cached, rendered, errors}
 *
 *   k6 run -e BASE_URL=http://tts:8080 -e TTS_API_TOKEN=... -e PHRASES_FILE=prompts.txt load/k6/prewarm.ts
 *
 * PHRASES_FILE: a phrase list (docs/http.md "Phrase lists": one text per line, # comments, JSON
 * lines {text, voice?, engine?, rate?, pin?}), read by lib/phrase-list.ts, a copy of the service's
 * own parser (src/core/phrase-list.ts; test/load/k6-phrase-list.test.ts keeps them the same). k6
 * resolves a relative PHRASES_FILE against this script's directory: give an absolute path
 * (-e PHRASES_FILE=$PWD/examples/prompts.txt).
 * Without it, COUNT generated phrases of PHRASE_SET. Items are sent in batches of BATCH
 * (keep it ≤ the service's TTS_PREWARM_MAX_ITEMS). The run fails when any item failed or the
 * jobs do not finish within TIMEOUT_S.
 */
import { check } from 'k6'
import { Counter, Gauge, Trend } from 'k6/metrics'
import type { Options } from 'k6/options'
import { submitPrewarm, waitForPrewarm, type PrewarmItem } from './lib/api.ts'
import { envBool, envInt, envList, envString } from './lib/env.ts'
import { parsePhraseList } from './lib/phrase-list.ts'
import { phraseSet } from './lib/phrases.ts'

const PHRASES_FILE = envString('PHRASES_FILE', '')
const COUNT = envInt('COUNT', 500, 1)
const PHRASE_SET = envString('PHRASE_SET', 'k6prewarm')
const VOICES = envList('VOICES', [''])
const PIN = envBool('PIN', false)
const BATCH = envInt('BATCH', 1000, 1)
const TIMEOUT_S = envInt('TIMEOUT_S', 900, 1)
const POLL_INTERVAL_S = envInt('POLL_INTERVAL_MS', 1000, 50) / 1000

// open() only works in the init context.
const fileContent = PHRASES_FILE === '' ? '' : open(PHRASES_FILE)

const itemsTotal = new Gauge('prewarm_items')
const itemsDone = new Gauge('prewarm_items_done')
const itemsCached = new Gauge('prewarm_items_cached')
const itemsRendered = new Gauge('prewarm_items_rendered')
const itemsFailed = new Counter('prewarm_items_failed')
const wallTime = new Trend('prewarm_wall_time', true)

export const options: Options = {
  scenarios: {
    prewarm: { executor: 'shared-iterations', vus: 1, iterations: 1, maxDuration: `${TIMEOUT_S + 60}s` },
  },
  thresholds: {
    checks: ['rate==1'],
    prewarm_items_failed: ['count==0'],
    http_req_failed: ['rate==0'],
  },
}

function items(): PrewarmItem[] {
  if (fileContent !== '') {
    return phrasesFromFile(fileContent)
  }
  return phraseSet(PHRASE_SET, COUNT, VOICES).map((p) => ({
    text: p.text,
    ...(p.voice === '' ? {} : { voice: p.voice }),
    ...(PIN ? { pin: true } : {}),
  }))
}

/** The file's phrases as request items; a line that cannot be read stops the run (as the service would refuse it). */
function phrasesFromFile(content: string): PrewarmItem[] {
  const { items: lines, errors } = parsePhraseList(content, PIN ? { pin: true } : {})
  if (errors.length > 0) throw new Error(`PHRASES_FILE ${PHRASES_FILE}: ${errors.map((e) => `line ${e.line}: ${e.message}`).join('; ')}`)
  return lines.map(({ item }) => {
    const rate = typeof item.sampleRate === 'string' ? Number(item.sampleRate) : item.sampleRate
    return {
      text: item.text,
      ...(item.voice === undefined ? {} : { voice: item.voice }),
      ...(item.engine === undefined ? {} : { engine: item.engine }),
      ...(rate === undefined ? {} : { rate }),
      ...(item.pin === undefined ? {} : { pin: item.pin }),
    }
  })
}

export default function (): void {
  const all = items()
  const started = Date.now()
  const ids: string[] = []
  for (let i = 0; i < all.length; i += BATCH) ids.push(submitPrewarm(all.slice(i, i + BATCH)))
  let lastLog = 0
  const { progress, finished } = waitForPrewarm(ids, TIMEOUT_S, POLL_INTERVAL_S, (sum, done) => {
    if (Date.now() - lastLog < 5000 && done < ids.length) return
    lastLog = Date.now()
    console.log(`prewarm: ${sum.done}/${sum.total} done (${sum.cached} already cached, ${sum.rendered} rendered, ${sum.failed} failed), ${done}/${ids.length} job(s) finished`)
  })
  wallTime.add(Date.now() - started)
  itemsTotal.add(progress.total)
  itemsDone.add(progress.done)
  itemsCached.add(progress.cached)
  itemsRendered.add(progress.rendered)
  itemsFailed.add(progress.failed)
  if (progress.errors.length > 0) console.warn(`first failures: ${JSON.stringify(progress.errors)}`)
  check(progress, {
    'every job finished in time': () => finished,
    'no job cancelled': (p) => p.state !== 'cancelled',
    'every item accounted for': (p) => p.total === all.length,
    'no item failed': (p) => p.failed === 0,
  })
}
