export { PriorityChannel, priorityOverflows, priorityDropReasons } from './priority-channel.js';
export type {
  PriorityChannelOptions,
  PriorityChannelStats,
  PriorityDropReason,
  PriorityLevelStats,
  PriorityOverflow,
  PrioritySendOptions,
  PriorityTrySendOptions,
} from './priority-channel.js';
