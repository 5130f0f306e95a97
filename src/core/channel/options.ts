// The channel options, states, drop reasons and stats are the engine's
// vocabulary (DurableChannel and BatchWriter share it), so they live in the
// neutral engine module; this file keeps `channel/options` importable.
export * from '../../internal/engine/options.js';
