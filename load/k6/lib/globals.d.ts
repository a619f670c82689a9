/**
 * k6 provides `console` (printed by `k6 run`), but @types/k6 does not declare it and these
 * scripts have no DOM or Node lib. Only the methods k6 implements.
 */
declare const console: {
  log(...args: unknown[]): void
  info(...args: unknown[]): void
  warn(...args: unknown[]): void
  error(...args: unknown[]): void
  debug(...args: unknown[]): void
}
