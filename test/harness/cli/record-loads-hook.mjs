// TEST-ONLY preload, never shipped: `node --import test/harness/cli/record-loads-hook.mjs dist/cli/main.js serve`.
// Appends the URL of every module the process loads to the file RECORD_LOADS_FILE names, as it
// loads, so a test can tell which modules a start loaded before a given moment.
import { appendFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const file = process.env.RECORD_LOADS_FILE
if (file !== undefined && file !== '') {
  registerHooks({
    load(url, context, next) {
      appendFileSync(file, `${url}\n`)
      return next(url, context)
    },
  })
}
