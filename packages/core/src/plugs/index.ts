/** Plugs: the descriptor shape and probe result both kinds share, and the one registry implementation. */
export * from './contract.js';
export * from './registry.js';
