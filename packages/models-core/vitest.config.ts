import { defineProject } from "vitest/config"

// Session loads take seconds on a busy machine: allow more than vitest's 5 s default.
export default defineProject({ test: { name: "models-core", testTimeout: 60_000, hookTimeout: 60_000 } })
