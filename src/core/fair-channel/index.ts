export { FairChannel, fairOverflows, fairDropReasons } from './fair-channel.js';
export type { FairChannelOptions, FairChannelStats, FairDropReason, FairKeyDrops, FairOverflow, FairReconfigureEvent, FairSendOptions, FairTrySendOptions } from './fair-channel.js';
