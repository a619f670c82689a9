// TEST-ONLY preload, never shipped: `node --import test/harness/block-loop-hook.mjs dist/cli/main.js serve`.
// On SIGUSR2 the main thread writes one line to stderr and then spins for good (or for
// TTS_TEST_BLOCK_LOOP_MS): a blocked event loop, the fault the watchdog and the supervisor bound.
// It lives under test/ and is loaded only by a command-line flag of the test, so no setting of
// the service can turn it on in production. Under `serve --supervise` the child inherits the
// flag (process.execArgv), so the test signals the serving process itself.
const limitMs = Number(process.env.TTS_TEST_BLOCK_LOOP_MS ?? 'Infinity')

process.on('SIGUSR2', () => {
  process.stderr.write(`block-loop-hook: pid ${process.pid} blocks its event loop\n`)
  const until = performance.now() + limitMs
  while (performance.now() < until) {}
})
