/**
 * Merge shim: src/esl and src/engines (moved on other branches of issue 18) still import
 * `core/ports.js`. Once merged, point them at `core/ports/index.js` and delete this file.
 */
export * from './ports/index.js'
