import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['src/runtime/node-websocket.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
