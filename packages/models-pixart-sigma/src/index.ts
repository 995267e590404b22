/**
 * @pagkit/models-pixart-sigma: PixArt-Sigma adapter.
 * @module
 */
export {}
