// The store contract is shared by DurableChannel and a Channel's spill, so it
// lives in a neutral module both import; this file keeps its public path.
export type { DurableStore, LeasedItem, Serializer } from '../../internal/durable-store.js';
export { jsonSerializer } from '../../internal/durable-store.js';
