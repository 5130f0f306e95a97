export { Channel } from './channel.js';
export type { ChannelReconfigureEvent, ChannelStats, SendOptions, ReceiveOptions, ReceiveBatchOptions, ChannelInit, SpillOptions } from './channel.js';
export { Sender, Receiver } from './views.js';
export { overflowStrategies, dropReasons } from './options.js';
export type { ByteBudgetInit, ByteBudgetOptions, ChannelOptions, ChannelState, DefaultSized, DropReason, OverflowStrategy, ReconfigureEvent } from './options.js';
