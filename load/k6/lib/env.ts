/**
 * Settings from the environment (`k6 run -e NAME=value` or exported variables).
 * Every script reads BASE_URL and TTS_API_TOKEN; each documents its own extra knobs
 * (load/README.md has the full list). A bad value stops the script at init, loudly.
 */

export function envString(name: string, fallback: string): string {
  const value = __ENV[name]
  return value === undefined || value === '' ? fallback : value
}

export function envInt(name: string, fallback: number, min = 0): number {
  const raw = __ENV[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`)
  return n
}

export function envFloat(name: string, fallback: number): number {
  const raw = __ENV[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${JSON.stringify(raw)}`)
  return n
}

/** Strict booleans, as the service parses its own: only true/false/1/0/yes/no. */
export function envBool(name: string, fallback: boolean): boolean {
  const raw = __ENV[name]
  if (raw === undefined || raw === '') return fallback
  if (['true', '1', 'yes'].includes(raw)) return true
  if (['false', '0', 'no'].includes(raw)) return false
  throw new Error(`${name} must be true/false/1/0/yes/no, got ${JSON.stringify(raw)}`)
}

/** Comma-separated list; empty items dropped. */
export function envList(name: string, fallback: readonly string[]): string[] {
  const raw = __ENV[name]
  if (raw === undefined) return [...fallback]
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** The service under test, without a trailing slash. */
export const BASE_URL = envString('BASE_URL', 'http://127.0.0.1:8080').replace(/\/+$/, '')

/** Bearer token for the API (TTS_API_TOKEN on the service). Empty: no Authorization header. */
export const API_TOKEN = envString('TTS_API_TOKEN', '')

/** Headers every request carries. */
export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return API_TOKEN === '' ? { ...extra } : { Authorization: `Bearer ${API_TOKEN}`, ...extra }
}
