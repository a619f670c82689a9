#!/usr/bin/env node
// Entry point of the `tts-cache` bin. Node's on-disk compile cache (Node >= 22.1) is switched
// on before anything else loads, so one-shot commands (`get`, `prewarm`) start in a fraction of
// the time: the code below is imported dynamically, after the cache is enabled.
import module from 'node:module'

module.enableCompileCache?.()
const { run } = await import('./run.js')
run(process.argv.slice(2))
