import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Real engines, sockets and redis-server: give slow CI machines room, but no test may
    // assert on timing (timing goals live in `npm run bench`).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only fight over the CPU the engines need.
    maxWorkers: 2,
    reporters: ['default'],
  },
})
