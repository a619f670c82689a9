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
import { fmtInt, fmtMs, fmtRatio } from '../lib/stats.js'
import { subDir } from './context.js'

export const ESL_P99_GOAL_MS = 1
export const ESL_RATE_GOAL = 3000

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
  const levels = ctx.quick ? [{ channels: 1, calls: 50 }, { channels: 10, calls: 200 }] : [
    { channels: 1, calls: 2000 },
    { channels: 100, calls: 8000 },
    { channels: 500, calls: 12_000 },
  ]
  const paced = ctx.quick ? { channels: 10, ratePerSecond: 20, calls: 20 } : { channels: 500, ratePerSecond: 250, calls: 2500 }
  const prefix = `ESL bench ${Date.now().toString(36)}`
  const workDir = subDir(ctx, 'esl-serve')

  ctx.progress(`starting load/esl-serve.ts (pre-warms ${phrases} phrases with real renders)`)
  const child = fork(
    serveSource,
    ['--dist', path.join(ctx.repoRoot, 'dist'), '--cache-dir', path.join(workDir, 'cache'), '--phrases', String(phrases), '--prefix', prefix, '--log', path.join(workDir, 'esl-serve.log'), '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, TTS_ESL_ENABLED: 'true' } },
  )
  let stderr = ''
  child.stderr?.on('data', (/** @type {Buffer} */ c) => {
    stderr = (stderr + c.toString('utf8')).slice(-4000)
  })
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))

  /**
   * One IPC command and its answer (bounded).
   * @template T
   * @param {string} type
   * @param {string} [answer]
   * @returns {Promise<T>}
   */
  const ask = (type, answer = type) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`esl-serve did not answer '${type}' within 60 s`)), 60_000)
      /** @param {any} message */
      const onMessage = (message) => {
        if (message?.type === answer) done(undefined, message)
        else if (message?.type === 'error') done(new Error(String(message.message)))
      }
      const onExit = () => done(new Error(`esl-serve exited while '${type}' was pending:\n${stderr}`))
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

  /** @type {{ label: string, client: ClientSummary & { dropped?: number, peakInFlight?: number }, service: ServiceSummary, cpu: CpuPerCall }[]} */
  const rows = []
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
    const server = await ask('ready')
    ready = server
    if (os.availableParallelism() >= 2 && !ctx.quick) {
      ownCpus = affinityOf(process.pid)
      pinned = ownCpus !== undefined && pin(server.pid, '0') && pin(process.pid, '1')
    }
    const base = { port: server.port, phrases, zipfS, textPrefix: prefix }
    ctx.progress('warm-up (not measured)')
    await runEslLoad({ ...base, channels: 50, calls: ctx.quick ? 100 : 2000, seed: 7 })
    for (const level of levels) {
      if (ctx.signal.aborted) break
      ctx.progress(`${level.channels} channel(s) back to back, ${fmtInt(level.calls)} calls`)
      await ask('reset')
      const clientCpu = process.cpuUsage()
      const client = await runEslLoad({ ...base, channels: level.channels, calls: level.calls, seed: level.channels })
      const { service, cpu } = /** @type {{ service: ServiceSummary, cpu: { perCallUs: number } }} */ (await ask('report'))
      rows.push({ label: `${level.channels}, back to back`, client, service, cpu: cpuPerCall(cpu, clientCpu, client.calls) })
    }
    if (!ctx.signal.aborted) {
      ctx.progress(`${paced.channels} channels paced: ${paced.ratePerSecond} calls/s, ${fmtInt(paced.calls)} calls`)
      await ask('reset')
      const clientCpu = process.cpuUsage()
      const client = await runPaced(runEslLoad, { ...base, prefix, ratePerSecond: paced.ratePerSecond, calls: paced.calls, maxInFlight: paced.channels, signal: ctx.signal })
      const { service, cpu } = /** @type {{ service: ServiceSummary, cpu: { perCallUs: number } }} */ (await ask('report'))
      rows.push({ label: `${paced.channels}, paced at ${paced.ratePerSecond} calls/s (peak ${client.peakInFlight} in flight${client.dropped > 0 ? `, ${client.dropped} dropped` : ''})`, client, service, cpu: cpuPerCall(cpu, clientCpu, client.calls) })
    }
    if (!ctx.signal.aborted) {
      fanOut = await runEslFanOut({
        port: server.port,
        channels: fanOutChannels,
        rounds: ctx.quick ? 2 : 5,
        prefix,
        signal: ctx.signal,
        runBurst: runEslBurst,
        reset: () => ask('reset'),
        report: async () => /** @type {{ service: import('../lib/esl-fan-out.js').ServiceReport }} */ (await ask('report')).service,
        progress: ctx.progress,
      })
    }

    const top = rows.find((r) => r.label.startsWith(`${levels.at(-1)?.channels}, back`))
    const missed = top !== undefined && (top.service.p99Ms > ESL_P99_GOAL_MS || top.client.lookupsPerSecond < ESL_RATE_GOAL)
    if (missed && !ctx.quick && !ctx.signal.aborted && top !== undefined) {
      ctx.progress(`ESL goal missed: profiling the server under ${levels.at(-1)?.channels} channels`)
      await ask('profile-start')
      await runEslLoad({ ...base, channels: levels.at(-1)?.channels ?? 500, calls: 5000, seed: 99 })
      const { profile } = /** @type {{ profile: any }} */ (await ask('profile-stop'))
      if (profile !== undefined) profiles.push(profileMarkdown(summarizeCpuProfile(profile, 20), `the ESL server (esl-serve) under ${levels.at(-1)?.channels} channels back to back`))
    }
    await ask('stop', 'stopped')
  } finally {
    if (pinned && ownCpus !== undefined && !pin(process.pid, ownCpus)) throw new Error(`esl: could not restore this process's CPU affinity (${ownCpus})`)
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      child.kill('SIGTERM')
      await exited
      clearTimeout(timer)
    }
  }

  const top = rows.find((r) => r.label.startsWith(`${levels.at(-1)?.channels}, back`))
  const pacedRow = rows.find((r) => r.label.includes('paced'))
  const statusOf = (/** @type {Record<string, number>} */ byStatus) =>
    Object.entries(byStatus)
      .map(([k, v]) => `${k} ${fmtInt(v)}`)
      .join(', ')
  const serviceP99 = top?.service.p99Ms ?? Number.NaN
  const rate = top?.client.lookupsPerSecond ?? Number.NaN
  return {
    id: 'esl',
    title,
    description:
      `runEslLoad (load/esl-load.ts) against load/esl-serve.ts (the built app's ESL hook, wired as \`serve\` wires it, in a child ` +
      `process driven over IPC), phrases drawn from ${phrases} pre-warmed prompts with Zipf(${zipfS}). Each call: connect, ` +
      `CHANNEL_DATA, the service's uuid_setvar/exit, disconnect. ${pinned ? 'The server is pinned to CPU 0 and the load generator (this process) to CPU 1 (taskset).' : 'Server and load generator share the cores (not pinned).'} ` +
      'Client side: TCP connect → `exit` received (when FreeSWITCH could play ${tts_file}). Service side: from the `data` event that ' +
      'completed CHANNEL_DATA to the write of the variables (EslObserver.answered). There is no baseline to run here (the Lua script ' +
      'lives inside FreeSWITCH): the goals are the reference. CPU µs/call: user + system time of the service process (esl-serve) ' +
      'and of the load generator over the row, divided by its calls. Fan-out: see its table.',
    tables: [
      {
        headers: ['channels, load shape', 'calls (status)', 'lookups/s', 'client p50', 'client p99', 'service p50', 'service p99', 'service p99.9', 'service max', 'CPU µs/call: service / generator', 'failed'],
        rows: rows.map((r) => [
          r.label,
          `${fmtInt(r.client.calls)} (${statusOf(r.client.byStatus)})`,
          fmtInt(r.client.lookupsPerSecond),
          fmtMs(r.client.p50Ms),
          fmtMs(r.client.p99Ms),
          fmtMs(r.service.p50Ms),
          fmtMs(r.service.p99Ms),
          fmtMs(r.service.p999Ms),
          fmtMs(r.service.maxMs),
          `${fmtInt(r.cpu.serviceUs)} / ${fmtInt(r.cpu.clientUs)}`,
          fmtInt(r.client.failed),
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
        name: `ESL hit p99, service side, ${levels.at(-1)?.channels} channels back to back`,
        target: `≤ ${ESL_P99_GOAL_MS} ms`,
        value: top === undefined ? 'n/a' : `${fmtMs(serviceP99)} (paced: ${fmtMs(pacedRow?.service.p99Ms ?? Number.NaN)}; client side ${fmtMs(top.client.p99Ms)})`,
        met: top === undefined ? undefined : serviceP99 <= ESL_P99_GOAL_MS,
        why: `the service's own time per call reaches ${fmtMs(serviceP99)} at the 99th percentile; the profile below shows where the server's CPU goes.`,
      },
      {
        name: `ESL lookups/s, ${levels.at(-1)?.channels} channels back to back`,
        target: `≥ ${fmtInt(ESL_RATE_GOAL)}/s`,
        value: top === undefined ? 'n/a' : `${fmtInt(rate)}/s`,
        met: top === undefined ? undefined : rate >= ESL_RATE_GOAL,
        why:
          `each call is a new TCP connection and several ESL frames each way. CPU per call: service ${fmtInt(top?.cpu.serviceUs ?? Number.NaN)} µs ` +
          `(≈ ${fmtInt(1e6 / (top?.cpu.serviceUs ?? Number.NaN))} calls/s on one core), generator ${fmtInt(top?.cpu.clientUs ?? Number.NaN)} µs ` +
          `(≈ ${fmtInt(1e6 / (top?.cpu.clientUs ?? Number.NaN))}/s)${pinned ? ', each pinned to its own core' : ''}; whichever is the lower bounds the rate, ` +
          'and CPU time taken by other work on the machine comes off both — see the profile and the load average.',
      },
    ],
    notes: [
      'Back to back, client-side latency is queueing: with N channels always waiting, each call waits for the N−1 others (about N / throughput), whatever the service time. The paced row is the one to hold against a latency budget.',
      `Pre-warm by esl-serve: ${ready === undefined ? 'n/a' : `${phrases} phrases, ${ready.warmRenders} rendered in ${fmtMs(ready.warmMs)}`}.`,
    ],
    profiles,
    raw: { rows, pinned, phrases, zipfS, fanOut },
  }
}
