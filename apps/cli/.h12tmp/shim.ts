export * from "@pagkit/pipelines"
export * from "../../../packages/pipelines/src/worker/index.js"
