/**
 * @pagkit/bench: Speed and memory against raw onnxruntime.
 * @module
 */
export {}
