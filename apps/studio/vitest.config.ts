import { defineProject } from "vitest/config"

export default defineProject({ test: { name: "studio", testTimeout: 180_000, hookTimeout: 300_000 } })
