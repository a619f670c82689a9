#!/usr/bin/env node
// Entry point of the `tts-cache` bin. Node's on-disk compile cache (Node >= 22.1) is switched
// on before anything else loads, so every start after the first re-uses compiled code (one-shot
// commands start in a fraction of the time; `serve` restarts sooner): the code below is imported
// dynamically, after the cache is enabled. Where it lives: ./compile-cache.ts.
import { enableCompileCache } from './compile-cache.js'

enableCompileCache(process.env)
const { run } = await import('./run.js')
run(process.argv.slice(2))
