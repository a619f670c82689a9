/** One readiness check: the composition root runs them for `/readyz` and `doctor`. */
export interface ReadinessCheck {
  readonly ok: boolean
  /** `degraded` is ready but impaired (e.g. Redis down, falling back to the local pool). */
  readonly state?: 'ok' | 'degraded' | 'failed'
  readonly detail?: string
}

/** Every check by name; `ok` is false when any check failed (degraded ones count as ok). */
export interface ReadinessReport {
  readonly ok: boolean
  readonly checks: Readonly<Record<string, ReadinessCheck>>
}
