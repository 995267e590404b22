import { defineConfig } from "vitest/config"

// One vitest project per package or app (each has its own vitest.config.ts).
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
