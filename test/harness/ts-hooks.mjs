// Lets a plain `node` child run the TypeScript sources the way tsc resolves them: Node strips
// the types itself; this hook maps a relative `./x.js` import to `./x.ts` when only the .ts exists.
// Use: node --import ./test/harness/ts-hooks.mjs test/harness/<script>.ts … (test children, timing scripts)
import { registerHooks } from 'node:module'

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context)
    } catch (err) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../')
      if (!relative || !specifier.endsWith('.js') || err?.code !== 'ERR_MODULE_NOT_FOUND') throw err
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context)
    }
  },
})
