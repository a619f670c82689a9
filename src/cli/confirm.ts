import { createInterface } from 'node:readline'

/** A terminal the CLI can ask a yes/no question on. */
export interface Prompt {
  readonly input: NodeJS.ReadableStream & { readonly isTTY?: boolean }
  readonly output: NodeJS.WritableStream
}

/**
 * Asks `question` (on `output`: stderr for the CLI) and reads one line: true only for `y` or
 * `yes` (any case); anything else, or the end of input (Ctrl-D), is a no.
 */
export function confirm(prompt: Prompt, question: string): Promise<boolean> {
  prompt.output.write(`${question} [y/N] `)
  const rl = createInterface({ input: prompt.input, terminal: false })
  return new Promise((resolve) => {
    rl.once('line', (line) => {
      resolve(/^y(es)?$/i.test(line.trim()))
      rl.close()
    })
    // After a line this resolves nothing (the first answer counts).
    rl.once('close', () => resolve(false))
  })
}
