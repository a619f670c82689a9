/** The environment engine processes start with: the service's, minus its secrets. */

/**
 * Environment variables an engine never needs and must never see: the service's secrets
 * (API token, ESL password, Redis URLs that may carry a password).
 */
const SECRET_ENV = /^(TTS_API_TOKEN|FS_ESL_PASSWORD|REDIS_URL|TTS_AUDIO_REDIS_URL)$|(PASSWORD|SECRET|TOKEN)/i

/**
 * The environment of a process that never changes its own after it started (the render host:
 * forked with `engineEnvironment` of the service's, and nothing in it sets a variable), filtered
 * once; undefined elsewhere, where `process.env` may change (tests set variables) and is read
 * at every process start.
 */
let frozenEnvironment: Readonly<Record<string, string>> | undefined

/** What an engine process starts with: the frozen environment, else this process's now, minus its secrets. */
export function currentEngineEnvironment(): Readonly<Record<string, string>> {
  return frozenEnvironment ?? engineEnvironment(process.env)
}

/**
 * From now on engines start with `engineEnvironment(process.env)` as it is now, computed once
 * (it was recomputed for each process: two per render). Only for a process whose environment
 * no longer changes (the render host). Returns the undo (tests).
 */
export function freezeEngineEnvironment(): () => void {
  frozenEnvironment = Object.freeze(engineEnvironment(process.env))
  return () => {
    frozenEnvironment = undefined
  }
}

/** The service's environment with secrets removed (exported for its test). */
export function engineEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const clean: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !SECRET_ENV.test(name)) clean[name] = value
  }
  return clean
}
