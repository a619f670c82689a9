#!/usr/bin/env node
// @ts-check
/**
 * The benchmark suite: every scenario, our numbers beside the baselines, in one run.
 *
 *   npm run bench                  # = npm run build && node load/bench/run-all.js
 *   node load/bench/run-all.js --only http-hit,esl
 *   node load/bench/run-all.js --skip startup --out /tmp/RESULTS.md
 *   node load/bench/run-all.js --quick   # tiny sizes, to check the harness; numbers meaningless
 *
 * Plain ESM JavaScript run by Node 24 without a TS loader; it imports the service from dist/
 * (hence `npm run build` first). Writes load/RESULTS.md (or --out) and the raw numbers to
 * load/.out/results.json. Bounded: every scenario has a time budget and the whole run stops
 * starting scenarios after --budget-s seconds (default 2700) and abandons one still running 30 s
 * after that, so `npm run bench` ends within about 46 minutes including the build (the scenarios'
 * estimates add up to ~24 minutes: load/README.md). Exit code 1 if a scenario failed, 0 otherwise —
 * goals missed are reported in RESULTS.md, not turned into a failure. RESULTS.md's method section
 * says how each scenario takes its ratios and the 1-minute load average at its start and end.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { REPO_ROOT } from './lib/ours.js'
import { goalMark, machineInfo, methodMarkdown, sectionMarkdown, tableMarkdown } from './lib/report.js'
import { loadAverage1m } from './lib/stats.js'
import { stopAllChildren } from './lib/servers.js'
import { scenarioContext } from './scenarios/context.js'
import { SCENARIOS, defaultMethod } from './scenarios/index.js'

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    skip: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    'budget-s': { type: 'string', default: '2700' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (values.help === true) {
  process.stdout.write(
    'usage: node load/bench/run-all.js [--only ids] [--skip ids] [--quick] [--out file] [--budget-s 2700] [--keep]\n' +
      `scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}\n`,
  )
  process.exit(0)
}

const quick = values.quick === true
const list = (/** @type {string | undefined} */ v) => (v === undefined ? [] : v.split(',').map((s) => s.trim()).filter((s) => s !== ''))
const only = list(values.only)
const skip = list(values.skip)
for (const id of [...only, ...skip]) {
  if (!SCENARIOS.some((s) => s.id === id)) {
    process.stderr.write(`unknown scenario '${id}' (known: ${SCENARIOS.map((s) => s.id).join(', ')})\n`)
    process.exit(2)
  }
}
const selected = SCENARIOS.filter((s) => (only.length === 0 || only.includes(s.id)) && !skip.includes(s.id))
const outDir = path.join(REPO_ROOT, 'load/.out')
const resultsFile = values.out ?? (quick ? path.join(outDir, 'RESULTS.quick.md') : path.join(REPO_ROOT, 'load/RESULTS.md'))
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
const workRoot = path.join(outDir, 'bench', stamp)
mkdirSync(workRoot, { recursive: true })
const budgetMs = Number(values['budget-s']) * 1000
const runStarted = performance.now()
const globalDeadline = AbortSignal.timeout(budgetMs)
const machine = machineInfo()
const command = `node load/bench/run-all.js${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`

process.stderr.write(`bench: ${selected.length} scenario(s), ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAvgAtStart}; work dir ${path.relative(REPO_ROOT, workRoot)}\n`)

// Stop our children if interrupted, so no server outlives the run.
let interrupted = false
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    interrupted = true
    process.stderr.write(`\nbench: ${signal}, stopping children\n`)
    void stopAllChildren(2000).finally(() => process.exit(130))
  })
}

/** @type {import('./lib/report.js').Section[]} */
const sections = []
let failed = 0
// Every scenario must leave this process on the CPUs it started on: its children inherit them,
// and a scenario that pinned it (esl does) and restored too few would run the rest on fewer cores.
const cpusAtStart = os.availableParallelism()
for (const scenario of selected) {
  if (interrupted) break
  const elapsed = performance.now() - runStarted
  if (elapsed + scenario.minBudgetS * 1000 > budgetMs) {
    sections.push({ id: scenario.id, title: scenario.title, tables: [], error: `skipped: the run's ${Math.round(budgetMs / 1000)} s budget was spent before this scenario (it needs about ${scenario.minBudgetS} s).` })
    continue
  }
  process.stderr.write(`\n▶ ${scenario.id}: ${scenario.title}\n`)
  const scenarioBudget = AbortSignal.timeout(scenario.budgetS * 1000)
  const signal = AbortSignal.any([scenarioBudget, globalDeadline])
  const ctx = scenarioContext({ workDir: path.join(workRoot, scenario.id), quick, signal })
  const started = performance.now()
  const loadAtStart = loadAverage1m()
  /** @type {import('./lib/report.js').Section} */
  let section
  try {
    // The signal asks the scenario to wrap up; the hard limit abandons it (children are stopped below).
    const hardLimitMs = Math.min(scenario.budgetS * 1000 + 60_000, budgetMs - (performance.now() - runStarted) + 30_000)
    /** @type {NodeJS.Timeout | undefined} */
    let timer
    section = await Promise.race([
      scenario.run(ctx),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`abandoned after ${Math.round(hardLimitMs / 1000)} s (its budget is ${scenario.budgetS} s; the run's ${Math.round(budgetMs / 1000)} s)`)), hardLimitMs)
        timer.unref()
      }),
    ]).finally(() => clearTimeout(timer))
    if (signal.aborted) {
      section.notes = [...(section.notes ?? []), `⚠ this scenario hit its ${scenario.budgetS} s time budget: some measurements may be partial.`]
    }
  } catch (err) {
    failed++
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
    process.stderr.write(`✖ ${scenario.id} failed: ${message}\n`)
    section = { id: scenario.id, title: scenario.title, tables: [], error: `failed: ${message.split('\n').slice(0, 6).join(' / ')}` }
    await stopAllChildren(2000)
  }
  if (os.availableParallelism() !== cpusAtStart) {
    failed++
    const message = `${scenario.id} left this process on ${os.availableParallelism()} of its ${cpusAtStart} CPUs; the run stops here (every later scenario would share fewer cores)`
    process.stderr.write(`✖ ${message}\n`)
    section.error = `failed: ${message}`
    interrupted = true
  }
  // The registry's id names the scenario everywhere (--only, results.json, the goals table).
  section.id = scenario.id
  section.seconds = (performance.now() - started) / 1000
  section.load = { start: loadAtStart, end: loadAverage1m() }
  sections.push(section)
  process.stderr.write(`  done in ${section.seconds.toFixed(1)} s (load average ${section.load.start.toFixed(2)} → ${section.load.end.toFixed(2)})\n`)
}
await stopAllChildren(2000)

const totalSeconds = (performance.now() - runStarted) / 1000
const goals = sections.flatMap((s) => (s.goals ?? []).map((g) => ({ section: s, goal: g })))
const doc = [
  '# Benchmark results',
  '',
  `Written by \`npm run bench\` (\`npm run build && ${command}\`) on ${new Date().toISOString()}. ` +
    'Do not edit by hand: run it again. What each scenario does and how to run it against a real deployment: [README.md](README.md).',
  quick ? '\n> **--quick run: tiny sizes to check the harness. These numbers mean nothing.**\n' : '',
  '## Machine',
  '',
  tableMarkdown({
    headers: ['', ''],
    rows: [
      ['cores', `${machine.cores} × ${machine.cpuModel}`],
      ['memory', `${machine.memoryGiB} GiB`],
      ['Node', machine.node],
      ['OS', machine.os],
      ['espeak-ng / sox', `${machine.espeakNg} / ${machine.sox}`],
      ['commit', machine.commit],
      ['load average at start → end', `${machine.loadAvgAtStart} → ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`],
      ['command', `\`npm run bench\` (\`${command}\`)`],
      ['wall time (without the build)', `${totalSeconds.toFixed(0)} s`],
    ],
  }),
  '',
  'Everything (service, baselines, load generators, engines) runs on this one machine; a load average above the core count at start means other work shared it.',
  '',
  '## Goals at a glance',
  '',
  goals.length === 0
    ? '_No goal was measured._'
    : tableMarkdown({
        headers: ['goal', 'target', 'measured', 'verdict', 'section'],
        rows: goals.map(({ section, goal }) => [goal.name, goal.target, goal.value, goalMark(goal), `[${section.id}](#${anchor(section.title)})`]),
      }),
  '',
  methodMarkdown(sections, defaultMethod),
  '',
  ...sections.flatMap((s) => [sectionMarkdown(s), '']),
]
writeFileSync(resultsFile, `${doc.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`)
mkdirSync(outDir, { recursive: true })
writeFileSync(
  path.join(outDir, quick ? 'results.quick.json' : 'results.json'),
  `${JSON.stringify({ machine, command, totalSeconds, sections: sections.map(({ id, title, goals: g, raw, error, seconds, load, method }) => ({ id, title, goals: g, raw, error, seconds, load, method: method ?? defaultMethod(id) })) }, null, 2)}\n`,
)
if (values.keep !== true) rmSync(workRoot, { recursive: true, force: true })
process.stderr.write(`\nbench: wrote ${path.relative(REPO_ROOT, resultsFile)} in ${totalSeconds.toFixed(0)} s; ${failed} scenario(s) failed\n`)
process.exit(failed > 0 ? 1 : 0)

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. @param {string} title */
function anchor(title) {
  return title
    .toLowerCase()
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-')
}
