// `npm start`: a producer ten times faster than its consumer, through a bounded
// Channel, once per overflow strategy. Shows what each strategy does with the
// excess: who waits, what is dropped and why, and how full the buffer gets.
import { Channel, overflowStrategies, type ChannelState, type OverflowStrategy } from '../index.js';

const seconds = Number(process.env.SLUICE_DEMO_SECONDS ?? 1);
const producerPerMs = 10; // 10,000 items/s
const consumerPerMs = 1; //   1,000 items/s
const capacity = 200;

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

async function run(strategy: OverflowStrategy) {
  const channel = new Channel<number>({ capacity, overflow: strategy, name: strategy, ...(strategy === 'block' ? { maxBlockMs: 50 } : {}) });
  const transitions: ChannelState[] = [channel.state];
  channel.onStateChange((state) => transitions.push(state));
  let peak = 0;
  let rejected = 0;
  const end = performance.now() + seconds * 1000;

  const producer = (async () => {
    let id = 0;
    while (performance.now() < end) {
      for (let i = 0; i < producerPerMs; i++) {
        try {
          await channel.send(id++);
        } catch {
          rejected++; // 'reject' throws OverflowError; it is counted by the channel too
        }
        peak = Math.max(peak, channel.size);
      }
      await tick();
    }
    channel.close();
  })();

  const consumer = (async () => {
    while (!(channel.closed && channel.size === 0)) {
      for (let i = 0; i < consumerPerMs; i++) channel.tryReceive();
      await tick();
      if (channel.closed) channel.receiveBatch(capacity).catch(() => []); // drain what is left at the end
    }
  })();

  await Promise.all([producer, consumer]);
  const s = channel.stats();
  const drops = Object.entries(s.droppedBy)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  console.log(`\n${strategy.padEnd(11)} offered ${s.offered}  delivered ${s.delivered}  dropped ${s.dropped}${drops ? ` (${drops})` : ''}`);
  console.log(`${''.padEnd(11)} peak buffer ${peak}/${capacity}  blocked ${Math.round(s.blockedMs)} ms  pressure events ${s.pressureEvents}${rejected ? `  OverflowErrors ${rejected}` : ''}`);
  console.log(`${''.padEnd(11)} states ${compress(transitions).join(' → ')}`);
  console.log(`${''.padEnd(11)} check: offered ${s.offered} = delivered ${s.delivered} + buffered ${s.size} + dropped ${s.dropped}`);
}

function compress(states: ChannelState[]): string[] {
  if (states.length <= 12) return states;
  return [...states.slice(0, 6), `… (${states.length - 10} more) …`, ...states.slice(-4)];
}

console.log(`Sluice demo: producer ${producerPerMs * 1000}/s, consumer ${consumerPerMs * 1000}/s, capacity ${capacity}, ${seconds}s per strategy`);
for (const strategy of overflowStrategies) await run(strategy);
console.log('\nblock slows the producer to the consumer (items only time out after 50 ms of waiting); the others stay fast and drop, each counted by reason.');
