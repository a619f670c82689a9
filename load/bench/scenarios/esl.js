// @ts-check
/**
 * ESL hit path: load/esl-load.ts (`runEslLoad`, simulated FreeSWITCH channels speaking the
 * captured outbound protocol) against load/esl-serve.ts (the built app's ESL hook wired as
 * src/app/server.ts wires it, a child process driven over IPC), every phrase pre-warmed.
 * Both are the ESL work's own tools; erasable TypeScript, so Node 24 runs them as they are.
 *
 * Two load shapes:
 * - back to back at 1, 100 and 500 channels: each channel calls again as soon as its call ends —
 *   the most lookups/s the hook sustains; client-side latency there is mostly queueing
 *   (Little's law: N / throughput);
 * - paced at 500 channels: calls arrive at a steady rate, as on a PBX with 500 calls in progress
 *   each asking for a prompt every couple of seconds.
 * Never one run (issue 19): 500 channels runs 5 interleaved rounds per server (call log info,
 * the default; off; info with the flags shipped until f4c551f; the bare Node hook,
 * fixtures/bare-esl-hook.js, the ceiling); 1 channel, 100 channels and paced run 5 interleaved
 * rounds of their own against the default (info), the order rotating (1, 100, paced; 100,
 * paced, 1; …), each row the median (min–max) over its rounds; the fan-out runs 5 rounds.
 *
 * Two views of the latency:
 * - client side (runEslLoad): TCP connect → `exit` received, the moment FreeSWITCH could play
 *   ${tts_file}; includes the generator and FreeSWITCH-side round trips;
 * - service side (esl-serve's EslObserver.answered): from the `data` event that completed
 *   CHANNEL_DATA to the write of the channel variables — what the service itself spends.
 * With taskset available the server runs on CPU 0 and this process (the generator) on CPU 1,
 * so neither steals the other's core; the bench's affinity is restored afterwards.
 */
import { execFileSync, fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { profileMarkdown, summarizeCpuProfile } from '../lib/cpu-profile.js'
import { ESL_FAN_OUT_GOAL_RATIO, runEslFanOut } from '../lib/esl-fan-out.js'
import { runPaced } from '../lib/paced-esl-load.js'
import { roundRatio, runEslRounds, summarizeShapes, summarizeVariant } from '../lib/esl-rounds.js'
import { MIN_ROUNDS, interleaved } from '../lib/rounds.js'
import { asDeployed, SERVE_NODE_ARGS } from '../lib/servers.js'
import { fmtInt, fmtMs, fmtSpread, fmtTimes, loadAverage1m, spreadOf } from '../lib/stats.js'
import { subDir } from './context.js'

export const ESL_P99_GOAL_MS = 1
export const ESL_RATE_GOAL = 3000
/** Rounds of the context rows (1 and 100 channels back to back, paced): issue 19's minimum. */
export const ESL_SHAPE_ROUNDS = 5
const PACED = 'paced'
/**
 * The flags and arena limit `serve` shipped with until f4c551f (docs/configuration.md, "Process
 * memory"): what dropping --optimize-for-size for one malloc arena bought the hook, every run.
 */
const PREVIOUS_NODE_ARGS = Object.freeze(['--max-semi-space-size=4', '--optimize-for-size'])
const PREVIOUS_ENV = Object.freeze({ MALLOC_ARENA_MAX: '2' })
/** The variants of the goal's level, as named in its tables. */
const VARIANT = Object.freeze({ info: 'info', off: 'off', previous: 'info, the flags until f4c551f', bare: 'bare Node hook' })

/**
 * @typedef {{ count: number, p50Ms: number, p90Ms: number, p99Ms: number, p999Ms: number, maxMs: number, meanMs: number, byStatus: Record<string, number> }} ServiceSummary
 * @typedef {{ calls: number, completed: number, failed: number, byStatus: Record<string, number>, p50Ms: number, p99Ms: number, lookupsPerSecond: number }} ClientSummary
 * @typedef {{ serviceUs: number, clientUs: number }} CpuPerCall
 */

/**
 * CPU time (user + system) per call of the service (esl-serve's own count) and of the load
 * generator (this process), over one row. With each pinned to its own core, 1e6 / µs is the
 * most calls/s that side could sustain: the lower of the two bounds the row, whichever side it is.
 * @param {{ perCallUs: number }} service
 * @param {NodeJS.CpuUsage} clientSince
 * @param {number} calls
 * @returns {CpuPerCall}
 */
function cpuPerCall(service, clientSince, calls) {
  const client = process.cpuUsage(clientSince)
  return { serviceUs: service.perCallUs, clientUs: calls === 0 ? Number.NaN : (client.user + client.system) / calls }
}

/**
 * The CPU list `pid` may run on now ("0-1"), read before pinning so it can be restored: after
 * the pin, os.availableParallelism() counts only the pinned CPU, so it cannot say what to restore
 * (deriving "0-(n-1)" from it once left every later scenario of a run on CPU 0 alone).
 * @param {number} pid
 * @returns {string | undefined}
 */
function affinityOf(pid) {
  try {
    const out = execFileSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8', timeout: 5000 })
    return /:\s*([\d,-]+)\s*$/.exec(out)?.[1]
  } catch {
    return undefined
  }
}

/**
 * Pins `pid` (all its threads) to the given CPUs; false when taskset is missing or refuses.
 * @param {number} pid
 * @param {string} cpus e.g. "0" or "0-1"
 */
function pin(pid, cpus) {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore', timeout: 5000 })
    return true
  } catch {
    return false
  }
}

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function eslScenario(ctx) {
  const loadSource = path.join(ctx.repoRoot, 'load/esl-load.ts')
  const serveSource = path.join(ctx.repoRoot, 'load/esl-serve.ts')
  const title = 'ESL hit path (outbound socket, every phrase cached)'
  if (!existsSync(loadSource) || !existsSync(serveSource)) {
    return { id: 'esl', title, tables: [], error: 'not wired: load/esl-load.ts or load/esl-serve.ts does not exist.' }
  }
  /** @type {{ runEslLoad: (o: Record<string, unknown>) => Promise<any>, runEslBurst: import('../lib/esl-fan-out.js').RunBurst }} */
  const { runEslLoad, runEslBurst } = await import(pathToFileURL(loadSource).href)
  const phrases = ctx.quick ? 20 : 200
  const zipfS = 1.1
  // The context rows, in interleaved rounds of their own (against the default call log); the
  // goal's level (`top`) runs in interleaved rounds of info vs off below. Calls per round are
  // kept small so 5 rounds of each fit the scenario's budget (they were one run of 2,000, 8,000
  // and 2,500 calls; ~7 s a round on a quiet box, 5 s of it the paced shape's 250 calls/s).
  const levels = ctx.quick ? [{ channels: 1, calls: 20 }, { channels: 5, calls: 40 }] : [
    { channels: 1, calls: 1000 },
    { channels: 100, calls: 3000 },
  ]
  const paced = ctx.quick ? { channels: 10, ratePerSecond: 40, calls: 20 } : { channels: 500, ratePerSecond: 250, calls: 1250 }
  const shapeRounds = ESL_SHAPE_ROUNDS
  const prefix = `ESL bench ${Date.now().toString(36)}`
  const workDir = subDir(ctx, 'esl-serve')
  const rounds = ctx.quick ? 2 : 5
  const top = ctx.quick ? { channels: 10, calls: 400 } : { channels: 500, calls: 8000 }

  ctx.progress(`starting load/esl-serve.ts (pre-warms ${phrases} phrases with real renders)`)
  // Three servers on one cache dir, as `serve` runs the hook (info log level, to a file): the
  // default call log (TTS_ESL_CALL_LOG=info, one line per call), the call log off, and the
  // default with the flags shipped until f4c551f; beside them the bare Node hook (the ceiling:
  // the protocol and the socket, no service). The top level goes round them round by round.
  const info = startServe(ctx, serveSource, { name: 'info', workDir, phrases, prefix })
  /** @type {ServeChild | undefined} */
  let off
  /** @type {ServeChild | undefined} */
  let previous
  /** @type {ServeChild | undefined} */
  let bare
  /** @type {import('../lib/esl-rounds.js').ShapeRun[]} */
  let shapeRuns = []
  /** @type {import('../lib/esl-rounds.js').RoundResult[]} */
  let roundResults = []
  /** @type {Awaited<ReturnType<typeof runEslFanOut>> | undefined} */
  let fanOut
  const fanOutChannels = ctx.quick ? 20 : 500
  const profiles = []
  let pinned = false
  /** @type {string | undefined} this process's CPUs before the pin, restored after */
  let ownCpus
  /** @type {{ port: number, pid: number, warmRenders: number, warmMs: number } | undefined} */
  let ready
  try {
    /** @type {{ port: number, pid: number, warmRenders: number, warmMs: number }} */
    const server = await info.ask('ready')
    ready = server
    off = startServe(ctx, serveSource, { name: 'off', workDir, phrases, prefix })
    previous = startServe(ctx, serveSource, { name: 'info', workDir, phrases, prefix, nodeArgs: PREVIOUS_NODE_ARGS, env: PREVIOUS_ENV, logName: 'previous' })
    bare = startChild(path.join(ctx.repoRoot, 'load/bench/fixtures/bare-esl-hook.js'), 'the bare Node hook', ['--file', path.join(ctx.repoRoot, 'load/bench/fixtures/bare-esl-hook.js')], { execArgv: [], env: process.env })
    // Each server with the port and pid it answered `ready` with (info first: its pre-warm fills the shared cache).
    /** @type {{ name: string, child: ServeChild, port: number, pid: number }[]} */
    const variants = [{ name: VARIANT.info, child: info, port: server.port, pid: server.pid }]
    for (const [name, child] of /** @type {[string, ServeChild][]} */ ([[VARIANT.off, off], [VARIANT.previous, previous], [VARIANT.bare, bare]])) {
      /** @type {{ port: number, pid: number }} */
      const { port, pid } = await child.ask('ready')
      variants.push({ name, child, port, pid })
    }
    if (os.availableParallelism() >= 2 && !ctx.quick) {
      ownCpus = affinityOf(process.pid)
      pinned = ownCpus !== undefined && variants.every((v) => pin(v.pid, '0')) && pin(process.pid, '1')
    }
    const base = { port: server.port, phrases, zipfS, textPrefix: prefix }
    ctx.progress('warm-up (not measured)')
    for (const { port } of variants) await runEslLoad({ ...base, port, channels: 50, calls: ctx.quick ? 100 : 2000, seed: 7 })
    // The goal's level first (its rounds must fit the budget on a busy box), then the fan-out
    // (a goal too), then the context rows.
    roundResults = await runEslRounds({
      servers: variants.map(({ name, child, port }) => ({ name, port, reset: () => child.ask('reset'), report: () => child.ask('report') })),
      rounds,
      run: (port, round) => runEslLoad({ ...base, port, channels: top.channels, calls: top.calls, seed: top.channels + round }),
      signal: ctx.signal,
      progress: (m) => ctx.progress(`${top.channels} channels back to back, ${fmtInt(top.calls)} calls, ${m}`),
    })
    if (!ctx.signal.aborted) {
      fanOut = await runEslFanOut({
        port: server.port,
        channels: fanOutChannels,
        rounds: ctx.quick ? 2 : 5,
        prefix,
        signal: ctx.signal,
        runBurst: runEslBurst,
        reset: () => info.ask('reset'),
        report: async () => /** @type {{ service: import('../lib/esl-fan-out.js').ServiceReport }} */ (await info.ask('report')).service,
        progress: ctx.progress,
      })
    }
    // The context rows last: on a busy box the budget cuts them (whole rounds), not the goals.
    shapeRuns = await runShapeRounds({ ctx, info, base, levels, paced, rounds: shapeRounds, runEslLoad })

    const defaults = summarizeVariant(roundResults, 'info')
    const missed = defaults.serviceP99Ms.median > ESL_P99_GOAL_MS || defaults.rate.median < ESL_RATE_GOAL
    if (missed && !ctx.quick && !ctx.signal.aborted) {
      ctx.progress(`ESL goal missed: profiling the server under ${top.channels} channels`)
      await info.ask('profile-start')
      await runEslLoad({ ...base, channels: top.channels, calls: 5000, seed: 99 })
      const { profile } = /** @type {{ profile: any }} */ (await info.ask('profile-stop'))
      if (profile !== undefined) profiles.push(profileMarkdown(summarizeCpuProfile(profile, 20), `the ESL server (esl-serve, call log info) under ${top.channels} channels back to back`))
    }
    for (const child of [info, off, previous, bare]) await child.ask('stop', 'stopped')
  } finally {
    if (pinned && ownCpus !== undefined && !pin(process.pid, ownCpus)) throw new Error(`esl: could not restore this process's CPU affinity (${ownCpus})`)
    for (const child of [info, off, previous, bare]) await child?.kill()
  }

  const shapes = summarizeShapes(shapeRuns)
  const shapeRoundsDone = Math.min(...shapes.map((r) => r.rounds), shapes.length === 0 ? 0 : Infinity)
  const pacedShape = shapes.find((r) => r.shape === PACED)
  const statusOf = (/** @type {Record<string, number>} */ byStatus) =>
    Object.entries(byStatus)
      .map(([k, v]) => `${k} ${fmtInt(v)}`)
      .join(', ')
  const defaults = summarizeVariant(roundResults, VARIANT.info)
  const offSummary = summarizeVariant(roundResults, VARIANT.off)
  const previousSummary = summarizeVariant(roundResults, VARIANT.previous)
  const bareSummary = summarizeVariant(roundResults, VARIANT.bare)
  const rate = (/** @type {import('../lib/esl-rounds.js').RoundResult} */ r) => r.client.lookupsPerSecond
  const p99 = (/** @type {import('../lib/esl-rounds.js').RoundResult} */ r) => r.service.p99Ms
  const ratios = [VARIANT.off, VARIANT.previous, VARIANT.bare].map((other) => ({
    other,
    rate: roundRatio(roundResults, VARIANT.info, other, rate),
    p99: roundRatio(roundResults, VARIANT.info, other, p99),
    cpu: roundRatio(roundResults, VARIANT.info, other, (r) => r.serviceCpuUs),
  }))
  const measured = defaults.rate.n > 0
  const serviceP99 = defaults.serviceP99Ms.median
  const medianRate = defaults.rate.median
  const loads = spreadOf(roundResults.map((r) => r.load1m))
  const ratioOf = (/** @type {string} */ other) => ratios.find((r) => r.other === other) ?? { other, rate: spreadOf([]), p99: spreadOf([]), cpu: spreadOf([]) }
  const times = (/** @type {number} */ r) => fmtTimes(r)
  return {
    id: 'esl',
    title,
    description:
      `runEslLoad (load/esl-load.ts) against load/esl-serve.ts (the built app's ESL hook, wired as \`serve\` wires it, logging at info to a file, in a child ` +
      `process driven over IPC), phrases drawn from ${phrases} pre-warmed prompts with Zipf(${zipfS}). Each call: connect, ` +
      `CHANNEL_DATA, the service's uuid_setvar/exit, disconnect; the generator checks every call's tts_file and tts_cache_status. ` +
      `${pinned ? 'The server is pinned to CPU 0 and the load generator (this process) to CPU 1 (taskset).' : 'Server and load generator share the cores (not pinned).'} ` +
      `The context rows (${levels.map((l) => `${l.channels} channel${l.channels === 1 ? '' : 's'} back to back, ${fmtInt(l.calls)} calls`).join('; ')}; ${paced.channels} channels paced at ${paced.ratePerSecond} calls/s, ${fmtInt(paced.calls)} calls) ` +
      `run against the default call log in ${shapeRounds} interleaved rounds (after the fan-out; a round the budget cuts is dropped whole), the order rotating each round; each cell is the median (min–max) over the rounds, calls and failures are summed. ` +
      `The goal's level (${top.channels} channels back to back, ${fmtInt(top.calls)} calls a round) runs in ${rounds} interleaved rounds against four servers, the order reversed every other round: ` +
      'three esl-serve processes on one cache dir — TTS_ESL_CALL_LOG=info (the default: one info line per call), TTS_ESL_CALL_LOG=off, and info again with the flags shipped until f4c551f ' +
      `(\`${PREVIOUS_NODE_ARGS.join(' ')}\` and MALLOC_ARENA_MAX=${PREVIOUS_ENV.MALLOC_ARENA_MAX} instead of \`${SERVE_NODE_ARGS.join(' ')}\` and one arena: what the change of flags bought the hook) — and the bare Node hook ` +
      '(load/bench/fixtures/bare-esl-hook.js, plain `node`: the same bytes on the wire, a sha256 and a stat per call, and nothing else — no index, metrics, log line, timeouts or limits: ' +
      'the most calls/s any Node hook could carry here under this generator, a ceiling, not a competitor). The goal is judged on the default, as the median of its rounds with min–max; ' +
      'ratios are medians of the per-round ratios. ' +
      'Client side: TCP connect → `exit` received (when FreeSWITCH could play ${tts_file}). Service side: from the `data` event that ' +
      'completed CHANNEL_DATA to the write of the variables (EslObserver.answered). There is no equivalent baseline to run here (the Lua script ' +
      'lives inside FreeSWITCH): the goals are the reference, and the bare Node hook says how far Node itself goes. CPU µs/call: user + system time of the service process (esl-serve) ' +
      'and of the load generator over the row, divided by its calls. Fan-out: see its table.',
    tables: [
      {
        caption: `${levels.map((l) => l.channels).join(' and ')} channels back to back, ${paced.channels} paced: call log info (default), ${shapeRoundsDone} of ${shapeRounds} interleaved rounds (order rotating)${shapeRoundsDone < MIN_ROUNDS ? ` — ⚠ fewer than ${MIN_ROUNDS} rounds (the budget cut the rest): not a result` : ''} — median (min–max) over the rounds; calls, statuses and failures summed`,
        headers: ['channels, load shape', 'rounds', 'calls (status)', 'lookups/s', 'client p50', 'client p99', 'service p50', 'service p99', 'service p99.9', 'service max', 'CPU µs/call: service', 'CPU µs/call: generator', 'failed'],
        rows: shapes.map((r) => [
          r.shape === PACED ? `${paced.channels}, paced at ${paced.ratePerSecond} calls/s (peak ${r.peakInFlight} in flight${r.dropped > 0 ? `, ${r.dropped} dropped` : ''})` : r.shape,
          String(r.rounds),
          `${fmtInt(r.calls)} (${statusOf(r.byStatus)})`,
          fmtSpread(r.rate, fmtInt),
          fmtSpread(r.clientP50Ms, fmtMs),
          fmtSpread(r.clientP99Ms, fmtMs),
          fmtSpread(r.serviceP50Ms, fmtMs),
          fmtSpread(r.serviceP99Ms, fmtMs),
          fmtSpread(r.serviceP999Ms, fmtMs),
          fmtSpread(r.serviceMaxMs, fmtMs),
          fmtSpread(r.serviceCpuUs, fmtInt),
          fmtSpread(r.clientCpuUs, fmtInt),
          fmtInt(r.failed),
        ]),
      },
      {
        caption: 'the context rows\' rounds, in the order run (load average: 1 minute, at the start of each)',
        headers: ['round', 'channels, load shape', 'calls (status)', 'lookups/s', 'client p99', 'service p50', 'service p99', 'CPU µs/call: service / generator', 'load average'],
        rows: shapeRuns.map((r) => [
          String(r.round + 1),
          r.shape,
          `${fmtInt(r.client.calls)} (${statusOf(r.client.byStatus)})`,
          fmtInt(r.client.lookupsPerSecond),
          fmtMs(r.client.p99Ms),
          fmtMs(r.service.p50Ms),
          fmtMs(r.service.p99Ms),
          `${fmtInt(r.cpu.serviceUs)} / ${fmtInt(r.cpu.clientUs)}`,
          r.load1m.toFixed(2),
        ]),
      },
      {
        caption: `${top.channels} channels back to back, ${fmtInt(top.calls)} calls a round: the default (call log info, the deployed flags) vs the call log off, vs the flags shipped until f4c551f, vs the bare Node hook; interleaved rounds (median (min–max); ratios: median (min–max) of the per-round ratios)`,
        headers: ['server', 'rounds', 'lookups/s', 'service p50', 'service p99', 'CPU µs/call: service', 'CPU µs/call: generator', 'failed'],
        rows: [
          ...[defaults, offSummary, previousSummary, bareSummary].map((v) => [
            v.variant === VARIANT.info ? 'info (default)' : v.variant === VARIANT.off ? 'call log off' : v.variant,
            String(v.rate.n),
            fmtSpread(v.rate, fmtInt),
            fmtSpread(v.serviceP50Ms, fmtMs),
            fmtSpread(v.serviceP99Ms, fmtMs),
            fmtSpread(v.serviceCpuUs, fmtInt),
            fmtSpread(v.clientCpuUs, fmtInt),
            fmtInt(v.failed),
          ]),
          ...ratios.map((r) => [`default / ${r.other}`, String(r.rate.n), fmtSpread(r.rate, times), '', fmtSpread(r.p99, times), fmtSpread(r.cpu, times), '', '']),
        ],
      },
      {
        caption: `the rounds, in the order run (load average: 1 minute, at the start of each)`,
        headers: ['round', 'server', 'calls (status)', 'lookups/s', 'service p50', 'service p99', 'CPU µs/call: service / generator', 'load average'],
        rows: roundResults.map((r) => [
          String(r.round),
          r.variant,
          `${fmtInt(r.client.calls)} (${statusOf(r.client.byStatus)})`,
          fmtInt(r.client.lookupsPerSecond),
          fmtMs(r.service.p50Ms),
          fmtMs(r.service.p99Ms),
          `${fmtInt(r.serviceCpuUs)} / ${fmtInt(r.clientCpuUs)}`,
          r.load1m.toFixed(2),
        ]),
      },
      ...(fanOut === undefined
        ? []
        : [
            {
              caption: `Fan-out: ${fanOutChannels} channels at once on one new phrase (1 render, the rest coalesced), then ${fanOutChannels} at once on the same phrase cached (hits); rounds interleaved`,
              headers: ['round', 'miss burst (status)', 'rendering call answered at', 'answered before every waiter', 'waiters done after it (fan-out)', 'hit burst (status)', 'hit burst done in', 'fan-out / hits'],
              rows: fanOut.rounds.map((r) => [
                String(r.round),
                statusOf(r.missStatuses),
                fmtMs(r.leaderMs),
                r.leaderFirst ? 'yes' : '**no**',
                fmtMs(r.fanOutMs),
                statusOf(r.hitStatuses),
                fmtMs(r.hitsMs),
                `${r.ratio.toFixed(2)}×`,
              ]),
            },
          ]),
    ],
    goals: [
      ...(fanOut === undefined
        ? []
        : [
            {
              name: `ESL fan-out: ${fanOutChannels} waiters of one miss vs ${fanOutChannels} concurrent hits (median of ${fanOut.rounds.length} rounds)`,
              target: `≤ ${ESL_FAN_OUT_GOAL_RATIO.toFixed(1)}×`,
              value: `${fanOut.ratio.p50.toFixed(2)}× (rounds ${fanOut.ratio.min.toFixed(2)}–${fanOut.ratio.max.toFixed(2)}×; fan-out ${fmtMs(fanOut.fanOutMs.p50)} vs hits ${fmtMs(fanOut.hitsMs.p50)}${fanOut.rounds.every((r) => r.leaderFirst) ? '; the rendering call answered first every round' : '; **the rendering call was not always answered first**'})`,
              met: Number.isFinite(fanOut.ratio.p50) ? fanOut.ratio.p50 <= ESL_FAN_OUT_GOAL_RATIO && fanOut.rounds.every((r) => r.leaderFirst) : undefined,
              why: 'see the fan-out table: from the answer to the rendering call to the last waiter\'s exit, against a burst of as many hits.',
            },
          ]),
      {
        name: `ESL hit p99, service side, ${top.channels} channels back to back (call log info, median of ${defaults.rate.n} rounds)`,
        target: `≤ ${ESL_P99_GOAL_MS} ms`,
        value: measured
          ? `${fmtSpread(defaults.serviceP99Ms, fmtMs)} (paced: ${pacedShape === undefined ? 'n/a' : `${fmtSpread(pacedShape.serviceP99Ms, fmtMs)}, median of ${pacedShape.rounds} rounds`}; call log off: ${fmtSpread(offSummary.serviceP99Ms, fmtMs)})`
          : 'n/a',
        met: measured ? serviceP99 <= ESL_P99_GOAL_MS : undefined,
        why: `the service's own time per call reaches ${fmtMs(serviceP99)} at the 99th percentile; the profile below shows where the server's CPU goes.`,
      },
      {
        name: `ESL lookups/s, ${top.channels} channels back to back (call log info, median of ${defaults.rate.n} rounds)`,
        target: `≥ ${fmtInt(ESL_RATE_GOAL)}/s`,
        value: measured
          ? `${fmtSpread(defaults.rate, fmtInt)}/s (call log off: ${fmtSpread(offSummary.rate, fmtInt)}/s; the flags until f4c551f: ${fmtSpread(previousSummary.rate, fmtInt)}/s; the bare Node hook, the ceiling: ${fmtSpread(bareSummary.rate, fmtInt)}/s; load average ${fmtSpread(loads, (l) => l.toFixed(2))})`
          : 'n/a',
        met: measured ? medianRate >= ESL_RATE_GOAL : undefined,
        why:
          `each call is a new TCP connection and several ESL frames each way. CPU per call (medians): service ${fmtInt(defaults.serviceCpuUs.median)} µs ` +
          `(≈ ${fmtInt(1e6 / defaults.serviceCpuUs.median)} calls/s on one core), generator ${fmtInt(defaults.clientCpuUs.median)} µs ` +
          `(≈ ${fmtInt(1e6 / defaults.clientCpuUs.median)}/s)${pinned ? ', each pinned to its own core' : ''}; whichever is the lower bounds the rate, ` +
          'and CPU time taken by other work on the machine comes off both — see the profile and the load average. ' +
          `Where the service's CPU goes, from the same rounds: a call costs ${fmtSpread(ratioOf(VARIANT.previous).cpu, times)} the CPU it cost with the flags shipped until f4c551f (\`--optimize-for-size\`: docs/configuration.md), ` +
          `and ${fmtInt(defaults.serviceCpuUs.median)} µs against ${fmtInt(bareSummary.serviceCpuUs.median)} µs for the bare Node hook (the index, the stat, metrics, the call log, timeouts and limits). ` +
          `The bare hook itself reaches ${fmtSpread(bareSummary.rate, fmtInt)}/s with this generator: the ceiling for any Node hook on this box.`,
      },
    ],
    notes: [
      'Back to back, client-side latency is queueing: with N channels always waiting, each call waits for the N−1 others (about N / throughput), whatever the service time. The paced row is the one to hold against a latency budget.',
      `Pre-warm by esl-serve: ${ready === undefined ? 'n/a' : `${phrases} phrases, ${ready.warmRenders} rendered in ${fmtMs(ready.warmMs)}`}.`,
    ],
    profiles,
    raw: { shapes: shapeRuns, rounds: roundResults, pinned, phrases, zipfS, fanOut },
  }
}

/**
 * @typedef {{ ask: <T = any>(type: string, answer?: string) => Promise<T>, kill: () => Promise<void> }} ServeChild
 */

/**
 * The context rows' interleaved rounds against the default call log (`info`): every round runs
 * each level back to back and the paced shape once, the order rotating (lib/rounds.js); a round
 * the budget cuts is dropped whole.
 * @param {{ ctx: import('./context.js').ScenarioContext, info: ServeChild, base: Record<string, unknown>, levels: { channels: number, calls: number }[], paced: { channels: number, ratePerSecond: number, calls: number }, rounds: number, runEslLoad: (o: Record<string, unknown>) => Promise<any> }} o
 * @returns {Promise<import('../lib/esl-rounds.js').ShapeRun[]>}
 */
async function runShapeRounds(o) {
  const { ctx, info, base, paced } = o
  /** @param {string} shape @param {number} round @param {() => Promise<ClientSummary & { dropped?: number, peakInFlight?: number }>} load */
  const measure = async (shape, round, load) => {
    const load1m = loadAverage1m()
    await info.ask('reset')
    const clientCpu = process.cpuUsage()
    const client = await load()
    const { service, cpu } = /** @type {{ service: ServiceSummary, cpu: { perCallUs: number } }} */ (await info.ask('report'))
    return { shape, round, client, service, cpu: cpuPerCall(cpu, clientCpu, client.calls), load1m }
  }
  /** @type {Record<string, (round: number) => Promise<import('../lib/esl-rounds.js').ShapeRun>>} */
  const targets = {}
  for (const level of o.levels) {
    const shape = `${level.channels}, back to back`
    targets[shape] = (round) => measure(shape, round, () => o.runEslLoad({ ...base, channels: level.channels, calls: level.calls, seed: level.channels + 1000 * round }))
  }
  targets[PACED] = (round) =>
    measure(PACED, round, () => runPaced(o.runEslLoad, { .../** @type {any} */ (base), prefix: base['textPrefix'], ratePerSecond: paced.ratePerSecond, calls: paced.calls, maxInFlight: paced.channels, signal: ctx.signal }))
  const { runs, orders } = await interleaved(targets, {
    rounds: o.rounds,
    signal: ctx.signal,
    label: 'context rows (call log info)',
    progress: ctx.progress,
  })
  // Flattened in the order run, round by round.
  return orders.flatMap((order, round) => order.map((name) => /** @type {import('../lib/esl-rounds.js').ShapeRun} */ (runs[name]?.[round])))
}

/**
 * Forks load/esl-serve.ts (with the deployed flags and environment of `serve`, or `nodeArgs`
 * instead of the flags) with TTS_ESL_CALL_LOG=`name` (its own log file in `workDir`, the shared
 * cache dir).
 * @param {import('./context.js').ScenarioContext} ctx
 * @param {string} serveSource
 * @param {{ name: 'info' | 'off', workDir: string, phrases: number, prefix: string, nodeArgs?: readonly string[], env?: Readonly<Record<string, string>>, logName?: string }} o
 * @returns {ServeChild}
 */
function startServe(ctx, serveSource, o) {
  const logName = o.logName ?? o.name
  const deployed = asDeployed({ TTS_ESL_ENABLED: 'true', TTS_ESL_CALL_LOG: o.name, ...o.env })
  const args = ['--dist', path.join(ctx.repoRoot, 'dist'), '--cache-dir', path.join(o.workDir, 'cache'), '--phrases', String(o.phrases), '--prefix', o.prefix, '--log', path.join(o.workDir, `esl-serve-${logName}.log`), '--log-level', 'info']
  return startChild(serveSource, `esl-serve (${logName})`, args, { env: deployed.env, execArgv: o.nodeArgs === undefined ? deployed.execArgv : [...o.nodeArgs] })
}

/**
 * Forks a server script that speaks esl-serve's IPC (ready, reset, report, stop), and its IPC:
 * `ask(type)` sends a command and waits (bounded) for its answer.
 * @param {string} source
 * @param {string} name for messages
 * @param {string[]} args
 * @param {{ execArgv: string[], env: NodeJS.ProcessEnv }} options
 * @returns {ServeChild}
 */
function startChild(source, name, args, options) {
  const child = fork(source, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], ...options })
  let stderr = ''
  child.stderr?.on('data', (/** @type {Buffer} */ c) => {
    stderr = (stderr + c.toString('utf8')).slice(-4000)
  })
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  /** @type {ServeChild['ask']} */
  const ask = (type, answer = type) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${name} did not answer '${type}' within 60 s`)), 60_000)
      /** @param {any} message */
      const onMessage = (message) => {
        if (message?.type === answer) done(undefined, message)
        else if (message?.type === 'error') done(new Error(String(message.message)))
      }
      const onExit = () => done(new Error(`${name} exited while '${type}' was pending:\n${stderr}`))
      /** @param {Error | undefined} err @param {any} [value] */
      function done(err, value) {
        clearTimeout(timer)
        child.off('message', onMessage)
        child.off('exit', onExit)
        if (err === undefined) resolve(value)
        else reject(err)
      }
      child.on('message', onMessage)
      child.once('exit', onExit)
      if (type !== 'ready') child.send({ type })
    })
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.kill('SIGTERM')
    await exited
    clearTimeout(timer)
  }
  return { ask, kill }
}
