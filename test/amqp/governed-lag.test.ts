import { after, before, describe, it } from 'node:test';
import type { Channel } from 'amqplib';
import { consume, publisher, queueDepth } from '../../src/adapters/amqp/index.js';
import { assertGoverned, brokerGovernedRun, reportGoverned, runGoverned } from '../brokers/governed-lag.test-helpers.js';
import { AmqpFixtures } from './helpers.js';

let fx: AmqpFixtures;
let admin: Channel;

before(async () => {
  fx = await AmqpFixtures.open();
  admin = await fx.connection.createChannel();
});
after(async () => {
  await admin.close();
  await fx.close();
});

describe('governor over queueDepth', () => {
  it("governor - a producer governed by a queue's depth slows to the consumers' pace with the depth bounded, speeds back up to maxRate once they catch up, and no message is lost", async () => {
    const queue = await fx.queue(admin);
    const { threshold } = brokerGovernedRun;
    const depth = queueDepth(fx.connection, queue, { threshold, intervalMs: 100 });
    const confirm = await fx.connection.createConfirmChannel();
    const pub = publisher(confirm, { maxInFlight: 256 });
    const channel = await fx.connection.createChannel();
    try {
      const result = await runGoverned(
        {
          lag: depth,
          publish: (id) => pub.publish('', queue, Buffer.from(String(id))),
          consume: (handle) => consume(channel, queue, (msg) => handle(Number(msg.content.toString())), { prefetch: 50 }),
        },
        brokerGovernedRun,
      );
      const f = assertGoverned(result, 2.5);
      reportGoverned('queue-depth', result, f);
    } finally {
      depth.close();
      await pub.close();
      await channel.close();
      await confirm.close();
    }
  });
});
