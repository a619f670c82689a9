/**
 * ESL hit-path benchmark: the real built app's hook (load/esl-serve.ts, a child process) under
 * load/esl-load.ts's simulated FreeSWITCH channels (this process), every phrase pre-warmed.
 * Reports per level: lookups/s, client-side time-to-tts_file (TCP connect → `exit` received)
 * and the service-side time the server measured itself (EslObserver.answered: from the data
 * event that completed CHANNEL_DATA to our write of the variables; see docs/esl.md).
 *
 *   node load/esl-bench.ts [--levels 1,100,500] [--calls 20000 | --duration 10000] [--phrases 200]
 *     [--zipf 1.1] [--warmup-calls 3000] [--build true|false] [--dist load/.out/esl-dist]
 *     [--pin true] [--profile <level>] [--out load/.out/esl-bench.json]
 *
 * The generator and the server are separate processes (two event loops), but on this 2-core
 * box they still share the cores: --pin true puts the server on CPU 0 and the generator on
 * CPU 1 (taskset), so neither steals the other's core. --build true (default) compiles src/
 * into --dist first, so the numbers are for the sources as they are now. --profile 500 writes a
 * CPU profile of the server during the 500-channel level (load/.out/esl-serve-500.cpuprofile).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { resolve } from 'node:path'
import type * as EslLoad from './esl-load.js'

const { parseArgs, runEslLoad } = (await import(new URL('./esl-load.ts', import.meta.url).href)) as typeof EslLoad

const ROOT = new URL('../', import.meta.url).pathname
const args = parseArgs(
  process.argv.slice(2),
  ['levels', 'calls', 'duration', 'phrases', 'zipf', 'warmup-calls', 'build', 'dist', 'pin', 'profile', 'out', 'prefix'],
  'usage: node load/esl-bench.ts [--levels 1,100,500] [--calls 20000 | --duration 10000] [--phrases 200] [--zipf 1.1]\n' +
    '  [--warmup-calls 3000] [--build true|false] [--dist load/.out/esl-dist] [--pin true] [--profile <level>] [--out load/.out/esl-bench.json] [--prefix p]',
)
const levels = (args['levels'] ?? '1,100,500').split(',').map(Number)
const phrases = Number(args['phrases'] ?? 200)
const zipfS = Number(args['zipf'] ?? 1.1)
const prefix = args['prefix'] ?? 'esl-bench'
const dist = args['dist'] ?? 'load/.out/esl-dist'
const pin = args['pin'] === 'true'
const profileLevel = args['profile'] === undefined ? undefined : Number(args['profile'])
const out = resolve(ROOT, args['out'] ?? 'load/.out/esl-bench.json')
const callsPerLevel = args['calls'] === undefined ? undefined : Number(args['calls'])
const durationMs = args['duration'] === undefined ? (callsPerLevel === undefined ? 10_000 : undefined) : Number(args['duration'])
mkdirSync(resolve(ROOT, 'load/.out'), { recursive: true })

if (args['build'] !== 'false') {
  execFileSync(process.execPath, [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '-p', resolve(ROOT, 'tsconfig.build.json'), '--outDir', resolve(ROOT, dist)], {
    stdio: 'inherit',
  })
}

interface ServiceSummary {
  count: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
  meanMs: number
  byStatus: Record<string, number>
}

function pinTo(cpu: number, pid: number | undefined): void {
  if (!pin || pid === undefined) return
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' })
  } catch (err) {
    process.stderr.write(`taskset failed (${String(err)}); running unpinned\n`)
  }
}

/** Sends one IPC command to the server and waits for its answer (same type unless `answer`). */
function ask<T>(child: ChildProcess, type: string, answer = type): Promise<T> {
  return new Promise((resolveAnswer, reject) => {
    const onMessage = (message: { type: string; message?: string }): void => {
      if (message.type === answer) {
        child.off('message', onMessage)
        resolveAnswer(message as T)
      } else if (message.type === 'error') {
        child.off('message', onMessage)
        reject(new Error(message.message))
      }
    }
    child.on('message', onMessage)
    child.send({ type })
  })
}

const child = fork(resolve(ROOT, 'load/esl-serve.ts'), ['--dist', dist, '--phrases', String(phrases), '--prefix', prefix], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
const ready = await new Promise<{ port: number; warmRenders: number; warmMs: number; pid: number }>((resolveReady, reject) => {
  child.once('message', resolveReady)
  child.once('exit', (code) => reject(new Error(`esl-serve exited with ${code} before it was ready`)))
})
pinTo(0, ready.pid)
pinTo(1, process.pid)
process.stderr.write(`server pid ${ready.pid} on port ${ready.port}; pre-warm: ${phrases} phrases, ${ready.warmRenders} rendered, ${ready.warmMs} ms\n`)

const base = { port: ready.port, phrases, zipfS, textPrefix: prefix }
// JIT and socket warm-up on both sides, not measured.
await runEslLoad({ ...base, channels: 50, calls: Number(args['warmup-calls'] ?? 3000), seed: 7 })

const rows: Record<string, unknown>[] = []
for (const channels of levels) {
  await ask(child, 'reset')
  const profiling = profileLevel === channels
  if (profiling) await ask(child, 'profile-start')
  const load = await runEslLoad({
    ...base,
    channels,
    seed: channels,
    ...(callsPerLevel !== undefined ? { calls: callsPerLevel } : { durationMs: durationMs ?? 10_000 }),
  })
  if (profiling) {
    const { profile } = await ask<{ profile: unknown }>(child, 'profile-stop')
    const file = resolve(ROOT, `load/.out/esl-serve-${channels}.cpuprofile`)
    writeFileSync(file, JSON.stringify(profile))
    process.stderr.write(`server CPU profile: ${file}\n`)
  }
  const { service, cpu } = await ask<{ service: ServiceSummary; cpu: { userMs: number; systemMs: number; wallMs: number; perCallUs: number } }>(child, 'report')
  const row = {
    channels,
    calls: load.calls,
    failed: load.failed,
    byStatus: load.byStatus,
    lookupsPerSecond: Math.round(load.lookupsPerSecond),
    clientP50Ms: load.p50Ms,
    clientP99Ms: load.p99Ms,
    serviceP50Ms: service.p50Ms,
    serviceP99Ms: service.p99Ms,
    serviceP999Ms: service.p999Ms,
    serviceMaxMs: service.maxMs,
    serviceCount: service.count,
    serverCpuPerCallUs: Math.round(cpu.perCallUs),
    serverUserPerCallUs: service.count === 0 ? 0 : Math.round((cpu.userMs * 1000) / service.count),
    serverSystemPerCallUs: service.count === 0 ? 0 : Math.round((cpu.systemMs * 1000) / service.count),
    serverCpuBusyPct: Math.round(((cpu.userMs + cpu.systemMs) * 100) / cpu.wallMs),
    loadAverage: loadavg()[0],
  }
  rows.push(row)
  process.stderr.write(`${JSON.stringify(row)}\n`)
}
await ask(child, 'stop', 'stopped')

const table = [
  '| channels | calls | failed | lookups/s | client p50 | client p99 | service p50 | service p99 | service p99.9 | service max | server CPU/call (user + sys) | server busy | load avg |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${String(r['channels'])} | ${String(r['calls'])} | ${String(r['failed'])} | ${String(r['lookupsPerSecond'])} | ${String(r['clientP50Ms'])} ms | ${String(r['clientP99Ms'])} ms | ${String(r['serviceP50Ms'])} ms | ${String(r['serviceP99Ms'])} ms | ${String(r['serviceP999Ms'])} ms | ${String(r['serviceMaxMs'])} ms | ${String(r['serverCpuPerCallUs'])} µs (${String(r['serverUserPerCallUs'])} + ${String(r['serverSystemPerCallUs'])}) | ${String(r['serverCpuBusyPct'])}% | ${String(r['loadAverage'])} |`,
  ),
].join('\n')
writeFileSync(out, `${JSON.stringify({ pinned: pin, phrases, zipfS, rows }, null, 2)}\n`)
process.stdout.write(`${table}\n`)
