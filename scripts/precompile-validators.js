// Generates dist/http/precompiled-validators.cjs after `tsc` (npm run build): the standalone Ajv
// code of every route's request schema, so `serve`'s first requests neither load Ajv nor compile
// (see src/http/lazy-schema-compilers.ts). It builds the HTTP server exactly as `serve` does,
// on a context whose service, store, queue and engines do not exist: building the routes must
// not touch them (if it ever does, this fails loudly and the build with it).
import { rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = fileURLToPath(new URL('../dist/', import.meta.url))
const { buildHttpServer } = await import(path.join(dist, 'http/http-server.js'))
const { PRECOMPILED_VALIDATORS_FILE } = await import(path.join(dist, 'http/lazy-schema-compilers.js'))
const { recordingValidatorBuilder, validatorModuleSource } = await import(path.join(dist, 'http/precompile-validators.js'))
const { loadConfig } = await import(path.join(dist, 'config/load-config.js'))
const { createLogger } = await import(path.join(dist, 'logger.js'))
const { Metrics } = await import(path.join(dist, 'observability/metrics.js'))

/** @param {string} name */
const absent = (name) =>
  new Proxy({}, { get: (_, property) => { throw new Error(`precompile-validators: the routes used ${name}.${String(property)} while being built`) } })

const config = loadConfig({ env: {} })
const ctx = {
  config,
  logger: createLogger({ level: 'silent' }),
  metrics: new Metrics({ defaultMetrics: false }),
  service: absent('service'),
  store: absent('store'),
  queue: absent('queue'),
  engines: absent('engines'),
  // The server closes the tracker when it closes (fastify's decorate inspects the value, so a plain
  // object, not a throwing proxy); the routes do not use it while being built.
  prewarm: { close: async () => {} },
  readiness: () => { throw new Error('precompile-validators: readiness asked while building') },
}
const recorder = recordingValidatorBuilder()
const app = buildHttpServer(ctx, { closeGraceMs: config.shutdownGraceMs, buildValidator: recorder.buildValidator })
await app.ready()
const validators = recorder.generated()
await app.close()
const file = path.join(dist, 'http', PRECOMPILED_VALIDATORS_FILE)
await writeFile(`${file}.tmp`, validatorModuleSource(validators))
await rename(`${file}.tmp`, file)
process.stderr.write(`precompile-validators: ${validators.length} route validators → ${path.relative(process.cwd(), file)}\n`)
