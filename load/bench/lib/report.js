// @ts-check
/**
 * Result sections and their Markdown. Every scenario returns a Section; run-all.js puts them
 * in load/RESULTS.md (and the raw numbers in load/.out/results.json).
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'

/**
 * @typedef {object} Table
 * @property {string} [caption]
 * @property {string[]} headers
 * @property {(string | number)[][]} rows
 */

/**
 * @typedef {object} Goal
 * @property {string} name what is measured, e.g. "ESL hit p99 at 500 channels"
 * @property {string} target e.g. "≤ 2 ms"
 * @property {string} value what we measured, formatted
 * @property {boolean | undefined} met undefined: not measured
 * @property {string} [why] a plain sentence when missed
 */

/**
 * @typedef {object} Section
 * @property {string} id
 * @property {string} title
 * @property {string} [description] what the scenario does, one paragraph
 * @property {Table[]} tables
 * @property {Goal[]} [goals]
 * @property {string[]} [notes]
 * @property {string[]} [profiles] Markdown blocks (cpu-profile.js)
 * @property {Record<string, unknown>} [raw] numbers for results.json
 * @property {string} [error] the scenario failed or was skipped: why
 * @property {number} [seconds] wall time of the scenario
 * @property {Method} [method] how its ratios were taken (the registry's default when absent)
 * @property {{ start: number, end: number }} [load] 1-minute load average when it started and ended (run-all.js)
 */

/**
 * How a scenario takes its ratios, for the method section of RESULTS.md.
 * @typedef {object} Method
 * @property {string} rounds how many rounds, interleaved how
 * @property {string} perRound what one round of one target is (duration, requests)
 * @property {string} paired what is paired with what
 * @property {string} reported the median of what
 * @property {string} spread what the bracketed spread is (min–max, IQR, p90)
 */

/** @param {number} load */
function fmtLoad(load) {
  return Number.isFinite(load) ? load.toFixed(2) : 'n/a'
}

/**
 * The method section: one row per scenario saying how its ratios are taken, and the load
 * average at its start and end.
 * @param {readonly Section[]} sections
 * @param {(id: string) => Method | undefined} defaults the registry's method for a scenario id
 */
export function methodMarkdown(sections, defaults) {
  const rows = sections.map((s) => {
    const m = s.method ?? defaults(s.id)
    const load = s.load === undefined ? 'not run' : `${fmtLoad(s.load.start)} → ${fmtLoad(s.load.end)}`
    return m === undefined
      ? [s.id, '—', '—', '—', '—', '—', load]
      : [s.id, m.rounds, m.perRound, m.paired, m.reported, m.spread, load]
  })
  return [
    '## Method',
    '',
    'Issue 19\'s rule for every ratio: interleaved rounds (ours, baseline, then baseline, ours, …: the order rotates every round so drift in this shared machine\'s ' +
      'background load hits both alike), at least 5 of them, round i of ours paired with round i of the baseline measured next to it; the ratio reported is the ' +
      '**median of the per-round ratios**, with their spread in brackets — never the best or the worst round, and no warm-up that hides a rise (a JIT warm-up ' +
      'before a micro-benchmark is named where there is one). Counts (renders, errors, invalid reads) are summed over every round. The 1-minute load average ' +
      'is read when each scenario starts and ends (and, in most tables, around each set of rounds); above the core count it means other work shared the machine.',
    '',
    tableMarkdown({ headers: ['scenario', 'rounds', 'one round', 'paired', 'reported', 'spread', 'load avg (1 min) start → end'], rows }),
  ].join('\n')
}

/** @param {string | number} cell */
function cell(cell) {
  return String(cell).replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

/** @param {Table} table */
export function tableMarkdown(table) {
  const align = table.headers.map((_, i) => (i === 0 ? '---' : '---:'))
  const lines = []
  if (table.caption !== undefined) lines.push(`*${table.caption}*`, '')
  lines.push(`| ${table.headers.map(cell).join(' | ')} |`, `| ${align.join(' | ')} |`)
  for (const row of table.rows) lines.push(`| ${row.map(cell).join(' | ')} |`)
  return lines.join('\n')
}

/** @param {Goal} goal */
export function goalMark(goal) {
  return goal.met === undefined ? '— not measured' : goal.met ? '✅ met' : '❌ **missed**'
}

/** @param {Section} section */
export function sectionMarkdown(section) {
  const parts = [`## ${section.title}`]
  if (section.description !== undefined) parts.push(section.description)
  if (section.error !== undefined) parts.push(`> **Not run / failed:** ${section.error}`)
  for (const table of section.tables) parts.push(tableMarkdown(table))
  if (section.goals !== undefined && section.goals.length > 0) {
    parts.push(
      tableMarkdown({
        headers: ['goal', 'target', 'measured', 'verdict'],
        rows: section.goals.map((g) => [g.name, g.target, g.value, goalMark(g)]),
      }),
    )
    for (const g of section.goals) if (g.met === false && g.why !== undefined) parts.push(`**Missed — ${g.name}:** ${g.why}`)
  }
  const notes = (section.notes ?? []).map((note) => (note.startsWith('- ') ? note : `- ${note}`))
  if (notes.length > 0) parts.push(notes.join('\n'))
  for (const profile of section.profiles ?? []) parts.push(profile)
  if (section.seconds !== undefined || section.load !== undefined) {
    const time = section.seconds === undefined ? [] : [`scenario wall time ${section.seconds.toFixed(1)} s`]
    const load = section.load === undefined ? [] : [`load average (1 min) ${fmtLoad(section.load.start)} at its start, ${fmtLoad(section.load.end)} at its end`]
    parts.push(`<sub>${[...time, ...load].join('; ')}</sub>`)
  }
  return parts.join('\n\n')
}

/** @param {string} file @param {string[]} args */
function tryExec(file, args) {
  try {
    return execFileSync(file, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return 'n/a'
  }
}

/** The machine and software the numbers come from. */
export function machineInfo() {
  const cpus = os.cpus()
  const espeak = tryExec('espeak-ng', ['--version'])
  const sox = tryExec('sox', ['--version'])
  const commit = tryExec('git', ['rev-parse', '--short', 'HEAD'])
  const dirty = tryExec('git', ['status', '--porcelain', '--untracked-files=no']) === '' ? '' : ' (+ uncommitted changes)'
  return {
    cores: os.availableParallelism(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    espeakNg: /text-to-speech:\s*(\S+)/.exec(espeak)?.[1] ?? espeak,
    sox: /v(\d[\d.]*)/.exec(sox)?.[1] ?? sox,
    commit: `${commit}${dirty}`,
    loadAvgAtStart: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  }
}
