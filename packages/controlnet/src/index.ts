/**
 * @pagkit/controlnet: ControlNet adapter.
 * @module
 */
export {}
