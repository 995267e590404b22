/**
 * @pagkit/ip-adapter: IP-Adapter adapter.
 * @module
 */
export {}
