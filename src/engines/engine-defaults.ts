/**
 * Defaults of the engine layer that core DEFAULTS does not hold yet (renderTimeoutMs and
 * killGraceMs come from there). Each with its unit in the name.
 */
export const ENGINE_DEFAULTS = Object.freeze({
  /** Bound on `--version` / `--voices` probes at start. */
  detectTimeoutMs: 5000,
  /** Bytes of an engine's stderr kept (the tail) for errors and logs. */
  stderrTailBytes: 2048,
  /** Bound on captured stdout of probes (voice lists). */
  probeStdoutMaxBytes: 1024 * 1024,
  /** After the final SIGKILL, how long to wait for the process group to vanish. */
  groupExitWaitMs: 1000,
  /** How often to check whether a killed process group is gone. */
  groupExitPollMs: 10,
  /**
   * After a process exited and the rest of its group was killed, how long its pipes may stay
   * open (held by a process that left the group with setsid) before we close them ourselves.
   */
  pipesCloseAfterExitMs: 1000,
  /** The converter binary (name on PATH or path). */
  soxPath: 'sox',
  /**
   * Nice value of the render host, which its engine and sox processes inherit: a render is
   * CPU-bound work no caller is listening to yet, while hits (the service's event loop) and
   * FreeSWITCH's media are. 10: renders still get all the CPU nobody else wants.
   */
  renderNiceness: 10,
} as const)
