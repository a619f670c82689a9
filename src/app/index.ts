/**
 * The public surface of the composition root, re-exported by the package's entry (src/index.ts →
 * dist/index.js, which is what code outside src/ imports): build an app from a parsed config.
 * The cluster parts stay behind build-app's lazy import, so importing this costs no BullMQ.
 */
export { buildApp, type App, type AppOverrides, type QueueParts, type ReadinessProbe } from './build-app.js'
export { startServer, type RunningServer } from './server.js'
export { loadConfig } from '../config/load-config.js'
export type { Config } from '../config/schema.js'
