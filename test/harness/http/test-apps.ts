import { afterEach } from 'vitest'
import { buildTestHttpApp, TEST_TOKEN, type TestHttpApp, type TestHttpAppOptions } from './test-app.js'

const open: TestHttpApp[] = []

afterEach(async () => {
  for (const t of open.splice(0).reverse()) await t.close()
})

/** A test app closed (and its temp dir removed) after the test. */
export async function testApp(options: TestHttpAppOptions = {}): Promise<TestHttpApp> {
  const t = await buildTestHttpApp(options)
  open.push(t)
  return t
}

export const auth = { authorization: `Bearer ${TEST_TOKEN}` }

export { TEST_TOKEN }

/** Polls (without asserting on time) until `check` returns a value other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
