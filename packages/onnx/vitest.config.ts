import { defineProject } from "vitest/config"

// Model loads and UNet runs take a few seconds each on a busy 2-core machine.
export default defineProject({ test: { name: "onnx", testTimeout: 60_000, hookTimeout: 60_000 } })
