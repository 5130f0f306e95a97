export { DurableChannel } from './channel.js';
export type { DurableChannelOptions, DurableChannelStats, DurableSendOptions, DurableReceiveOptions } from './options.js';
export type { DurableStore, LeasedItem, Serializer } from './store.js';
export { jsonSerializer } from './store.js';
export { MemoryStore } from './memory-store.js';
export type { MemoryStoreOptions, MemoryStoreStats } from './memory-store.js';
