import { readFileSync } from 'node:fs'
import { Gauge, type Registry } from 'prom-client'

/** The package's version (package.json, two levels up from src/observability/ and dist/observability/); `unknown` when unreadable. */
export function packageVersion(): string {
  try {
    const parsed: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    const version = typeof parsed === 'object' && parsed !== null ? (parsed as { version?: unknown }).version : undefined
    return typeof version === 'string' && version !== '' ? version : 'unknown'
  } catch {
    // A relocated bundle without package.json: the metric still exists, with version "unknown".
    return 'unknown'
  }
}

/**
 * `tts_build_info{version,node} 1`, the Prometheus convention (as `prometheus_build_info`): join it
 * on `instance` to label any other series with the running version.
 */
export function registerBuildInfo(registers: Registry[]): void {
  const info = new Gauge({
    name: 'tts_build_info',
    help: 'Always 1; the labels say which build runs: package version and Node.js version',
    labelNames: ['version', 'node'] as const,
    registers,
  })
  info.set({ version: packageVersion(), node: process.versions.node }, 1)
}
