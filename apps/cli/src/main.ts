/**
 * @pagkit/cli: The pagkit command line.
 * @module
 */
export {}
