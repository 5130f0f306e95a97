// Type tests of the public API: checked by `npm run typecheck` (tsc), not run.
import { expectTypeOf } from 'expect-type';
import {
  Channel,
  TokenBucket,
  type ChannelReconfigureEvent,
  type ChannelStats,
  type DropReason,
  type OverflowStrategy,
  type Receiver,
  type ReconfigureEvent,
  type Sender,
  type TokenBucketReconfigureEvent,
} from '../../index.js';
import { VirtualClock } from '../testing/index.js';
import { MemoryStore } from '../durable-channel/memory-store.js';

const ch = new Channel<{ id: number }>({ capacity: 10, overflow: 'drop-oldest', clock: new VirtualClock() });

expectTypeOf(ch.trySend({ id: 1 })).toEqualTypeOf<boolean>();
expectTypeOf(ch.send({ id: 1 }, { timeoutMs: 5, signal: AbortSignal.timeout(5) })).toEqualTypeOf<Promise<boolean>>();
expectTypeOf(ch.tryReceive()).toEqualTypeOf<{ id: number } | undefined>();
expectTypeOf(ch.receive()).toEqualTypeOf<Promise<{ id: number } | undefined>>();
expectTypeOf(ch.receiveBatch(10, { maxWaitMs: 5 })).toEqualTypeOf<Promise<{ id: number }[]>>();
expectTypeOf(ch[Symbol.asyncIterator]()).toMatchTypeOf<AsyncIterator<{ id: number }>>();
expectTypeOf(ch.stats()).toEqualTypeOf<ChannelStats>();
expectTypeOf(ch.stats().droppedBy).toEqualTypeOf<Record<DropReason, number>>();
expectTypeOf(ch.onPressureChange(() => {})).toEqualTypeOf<() => void>();
expectTypeOf(ch.sender).toEqualTypeOf<Sender<{ id: number }>>();
expectTypeOf(ch.receiver).toEqualTypeOf<Receiver<{ id: number }>>();
expectTypeOf<OverflowStrategy>().toEqualTypeOf<'block' | 'drop-newest' | 'drop-oldest' | 'sample' | 'reject'>();

// The item type comes from the spill store.
const spilled = new Channel({ capacity: 10, spill: new MemoryStore<{ id: number }>(), spillCapacity: 1000 });
expectTypeOf(spilled).toEqualTypeOf<Channel<{ id: number }>>();
expectTypeOf(spilled.onSpillError(() => {})).toEqualTypeOf<() => void>();
expectTypeOf(spilled.stats().spilled).toEqualTypeOf<number | undefined>();
// @ts-expect-error: the store must hold the channel's items
new Channel<{ id: number }>({ spill: new MemoryStore<string>() });

// @ts-expect-error: an unknown strategy is a type error
new Channel({ overflow: 'blok' });
// @ts-expect-error: items are typed
ch.trySend('not an object');
// @ts-expect-error: the sender view cannot receive
ch.sender.receive();
// @ts-expect-error: the receiver view cannot send
ch.receiver.send({ id: 1 });

// A byte budget: strings and binary data have a default sizeOf; other items need one.
expectTypeOf(new Channel<string>({ maxBytes: 1024 }).maxBytes).toEqualTypeOf<number | undefined>();
new Channel<Uint8Array>({ maxBytes: 1024 });
new Channel<{ line: string }>({ maxBytes: 1024, sizeOf: (e) => e.line.length });
// @ts-expect-error: sizeOf is required with maxBytes for items the default cannot measure
new Channel<{ line: string }>({ maxBytes: 1024 });
// @ts-expect-error: sizeOf takes the channel's items
new Channel<{ line: string }>({ maxBytes: 1024, sizeOf: (e: number) => e });

// One listener type for every component's runtime changes; each component's alias names its settings.
const anyChange = (event: ReconfigureEvent): string => `${event.setting} ${event.previous} -> ${event.value}`;
ch.onReconfigure(anyChange);
new TokenBucket({ ratePerSecond: 10, clock: new VirtualClock() }).onReconfigure(anyChange);
expectTypeOf<ChannelReconfigureEvent['setting']>().toEqualTypeOf<'capacity' | 'highWatermark' | 'lowWatermark' | 'maxBytes'>();
expectTypeOf<TokenBucketReconfigureEvent>().toEqualTypeOf<ReconfigureEvent<'ratePerSecond'>>();
// @ts-expect-error: a channel never reports a token bucket's setting
const rate: ChannelReconfigureEvent = { setting: 'ratePerSecond', previous: 1, value: 2 };
void rate;
