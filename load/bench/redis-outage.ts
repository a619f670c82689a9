/**
 * How long callers wait when Redis freezes (SIGSTOP) or dies (SIGKILL), with the default
 * settings (TTS_REDIS_COMMAND_TIMEOUT_MS 1000, TTS_REDIS_FALLBACK_AFTER_MS 1000). Two nodes in
 * this process (A runs the cluster's worker, B only serves), a local redis-server, the counting
 * fixture engine (instant renders): the numbers are the Redis-side bounds, not engine time.
 *
 * Per round: a miss whose job A's worker already took (its engine held) when Redis freezes; a new
 * miss on B right after the freeze; the time until both nodes say `ok` again after SIGCONT and a
 * new miss on B goes through the cluster again. Then the same with SIGKILL + restart.
 * `--long`: one extra round frozen 35 s (past BullMQ's 30 s job lock): after SIGCONT, B asks for
 * the key whose worker lost its lock.
 *
 * CLI: node --import ./test/harness/ts-hooks.mjs load/bench/redis-outage.ts [rounds] [--long]
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { App } from '../../src/index.js'
import { CountingRenderer } from '../../test/fakes/counting-renderer.js'
import { startTestNode, type TestNode } from '../../test/harness/redis/test-nodes.js'
import { spawnRedisServer, uniquePrefix, type SpawnedRedis } from '../../test/harness/redis/server.js'

/** The cluster queue a node's buildApp made (its BullMQ side behind the local fallback). */
type ClusterQueue = NonNullable<App['cluster']>

interface Timing {
  readonly ms: number
  readonly status: string
}

function state(queue: ClusterQueue, wanted: 'ok' | 'degraded'): Promise<void> {
  if (queue.readiness().state === wanted) return Promise.resolve()
  return new Promise((resolve) => {
    const off = queue.onReadinessChange((check) => {
      if (check.state !== wanted) return
      off()
      resolve()
    })
  })
}

async function timed(what: Promise<{ status: string }>, since: number): Promise<Timing> {
  try {
    const { status } = await what
    return { ms: Math.round(performance.now() - since), status }
  } catch (err) {
    return { ms: Math.round(performance.now() - since), status: (err as { code?: string }).code ?? String(err) }
  }
}

function summary(values: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((x, y) => x - y)
  return { min: sorted[0] ?? 0, median: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted[sorted.length - 1] ?? 0 }
}

async function nodes(redis: SpawnedRedis, engine: CountingRenderer): Promise<{ a: TestNode; b: TestNode }> {
  const prefix = uniquePrefix('bench-outage')
  const a = await startTestNode({ redisUrl: redis.url, prefix, renderer: engine, config: { workersInProcess: true } })
  const b = await startTestNode({ redisUrl: redis.url, prefix })
  await Promise.all([a.queue.cluster.whenStarted(), b.queue.cluster.whenStarted(), a.queue.worker?.whenReady()])
  return { a, b }
}

export async function runRedisOutageBench(rounds = 10, long = false): Promise<Record<string, unknown>> {
  const redis = await spawnRedisServer()
  const engine = new CountingRenderer()
  const { a, b } = await nodes(redis, engine)
  const frozen = { taken: [] as Timing[], newMiss: [] as Timing[], degradedMs: [] as number[], backOkMs: [] as number[], backMiss: [] as Timing[] }
  const killed = { taken: [] as Timing[], newMiss: [] as Timing[], backOkMs: [] as number[], backMiss: [] as Timing[] }
  try {
    for (let round = 0; round < rounds; round++) {
      engine.hold()
      const taken = a.service.get({ text: `Taken when frozen ${round}.` })
      await engine.nextStart(`Taken when frozen ${round}.`)
      const freezeAt = performance.now()
      redis.pause()
      const degraded = state(a.queue, 'degraded').then(() => performance.now() - freezeAt)
      const newMiss = timed(b.service.get({ text: `New when frozen ${round}.` }), performance.now())
      frozen.taken.push(await timed(taken, freezeAt))
      frozen.newMiss.push(await newMiss)
      frozen.degradedMs.push(Math.round(await degraded))
      const resumeAt = performance.now()
      redis.resume()
      engine.release()
      await Promise.all([state(a.queue, 'ok'), state(b.queue, 'ok')])
      frozen.backOkMs.push(Math.round(performance.now() - resumeAt))
      const clusterBefore = b.queue.backendCounts().cluster
      frozen.backMiss.push(await timed(b.service.get({ text: `Thawed ${round}.` }), performance.now()))
      if (b.queue.backendCounts().cluster !== clusterBefore + 1) throw new Error('after SIGCONT the miss did not go through the cluster')
    }
    for (let round = 0; round < rounds; round++) {
      engine.hold()
      const taken = a.service.get({ text: `Taken when killed ${round}.` })
      await engine.nextStart(`Taken when killed ${round}.`)
      const killAt = performance.now()
      await redis.kill('SIGKILL')
      const newMiss = timed(b.service.get({ text: `New when killed ${round}.` }), performance.now())
      killed.taken.push(await timed(taken, killAt))
      killed.newMiss.push(await newMiss)
      engine.release()
      const restartAt = performance.now()
      await redis.restart()
      await Promise.all([state(a.queue, 'ok'), state(b.queue, 'ok')])
      killed.backOkMs.push(Math.round(performance.now() - restartAt))
      killed.backMiss.push(await timed(b.service.get({ text: `Restarted ${round}.` }), performance.now()))
    }
    let longFreeze: Record<string, unknown> | undefined
    if (long) {
      engine.hold()
      const text = 'Frozen past the job lock.'
      const taken = a.service.get({ text })
      await engine.nextStart(text)
      const freezeAt = performance.now()
      redis.pause()
      const takenTiming = await timed(taken, freezeAt)
      await sleep(35_000 - (performance.now() - freezeAt))
      redis.resume()
      await state(b.queue, 'ok')
      const askAt = performance.now()
      const onB = timed(b.service.get({ text }), askAt)
      await Promise.race([engine.nextStart(text), onB])
      engine.release()
      longFreeze = { frozenMs: 35_000, takenAnswered: takenTiming, afterResumeOnB: await onB }
    }
    const ms = (list: readonly Timing[]): unknown => ({ ...summary(list.map((t) => t.ms)), statuses: [...new Set(list.map((t) => t.status))] })
    return {
      rounds,
      settings: { redisCommandTimeoutMs: 1000, redisFallbackAfterMs: 1000 },
      frozen: { takenJobAnsweredMs: ms(frozen.taken), newMissAnsweredMs: ms(frozen.newMiss), readinessDegradedMs: summary(frozen.degradedMs), okAfterSigcontMs: summary(frozen.backOkMs), clusterMissAfterSigcontMs: ms(frozen.backMiss) },
      killed: { takenJobAnsweredMs: ms(killed.taken), newMissAnsweredMs: ms(killed.newMiss), okAfterRestartMs: summary(killed.backOkMs), clusterMissAfterRestartMs: ms(killed.backMiss) },
      ...(longFreeze === undefined ? {} : { longFreeze }),
    }
  } finally {
    engine.release()
    redis.resume()
    await a.close()
    await b.close()
    await redis.stop()
  }
}

if (process.argv[1]?.endsWith('redis-outage.ts') === true) {
  const rounds = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 10)
  const result = await runRedisOutageBench(rounds, process.argv.includes('--long'))
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  process.exit(0)
}
