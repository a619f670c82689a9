#!/usr/bin/env node
// Reads vitest's JSON report and prints the plain closing line CI tools read
// ("tests: N passed, N failed, N skipped"). With --strict (CI), a run fails when any test was
// skipped or when a suite that needs a real part — the real FreeSWITCH, a real redis-server, nginx,
// promtool, systemd-analyze —
// did not run a single test: on a CI machine every part is installed by `bootstrap.sh test`,
// so a skip there means a missing install step, not an optional suite.
//
//   node scripts/check-test-report.mjs .tmp/vitest.json [--strict]
import { readFileSync } from 'node:fs'
import path from 'node:path'

/** Suites that must run at least one passing test in a strict run: label → file pattern. */
const REQUIRED_SUITES = Object.freeze({
  'real FreeSWITCH (test/freeswitch/)': /\/test\/freeswitch\/[^/]+\.test\.ts$/,
  'real redis-server (test/app/cluster/)': /\/test\/app\/cluster\/[^/]+\.test\.ts$/,
  'real nginx front (test/http/nginx-front.test.ts)': /\/test\/http\/nginx-front\.test\.ts$/,
  'promtool on the alert rules and live /metrics (test/deploy/prometheus.test.ts)': /\/test\/deploy\/prometheus\.test\.ts$/,
  'systemd-analyze on the unit (test/deploy/systemd-unit.test.ts)': /\/test\/deploy\/systemd-unit\.test\.ts$/,
})

const [reportPath, ...flags] = process.argv.slice(2)
if (reportPath === undefined) {
  process.stderr.write('usage: check-test-report.mjs REPORT.json [--strict]\n')
  process.exit(2)
}
const strict = flags.includes('--strict')
const report = JSON.parse(readFileSync(reportPath, 'utf8'))
const root = process.cwd()

const skipped = []
const passedPerFile = new Map()
for (const file of report.testResults) {
  const rel = path.relative(root, file.name)
  for (const test of file.assertionResults) {
    if (test.status === 'passed') passedPerFile.set(file.name, (passedPerFile.get(file.name) ?? 0) + 1)
    else if (test.status === 'skipped' || test.status === 'pending' || test.status === 'todo') skipped.push(`${rel}: ${test.fullName}`)
  }
}

const skippedCount = report.numPendingTests + report.numTodoTests
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skippedCount} skipped`)

if (!strict) process.exit(0)
const problems = []
if (skipped.length > 0) problems.push(`${skipped.length} test(s) skipped:\n  ${skipped.slice(0, 40).join('\n  ')}`)
for (const [label, pattern] of Object.entries(REQUIRED_SUITES)) {
  let passed = 0
  for (const [name, count] of passedPerFile) if (pattern.test(name)) passed += count
  if (passed === 0) problems.push(`the ${label} suite ran no passing test`)
}
if (problems.length > 0) {
  process.stderr.write(`check-test-report (strict): ${problems.join('\n')}\n`)
  process.exit(1)
}
