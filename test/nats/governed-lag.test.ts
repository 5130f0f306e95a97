import { after, before, describe, it } from 'node:test';
import type { JetStreamClient } from 'nats';
import { consumeJetStream, jetStreamLag, jetStreamPublisher } from '../../src/adapters/nats/index.js';
import { assertGoverned, brokerGovernedRun, reportGoverned, runGoverned } from '../brokers/governed-lag.test-helpers.js';
import { JetStreamFixtures } from './helpers.js';

let fx: JetStreamFixtures;
let js: JetStreamClient;

before(async () => {
  fx = await JetStreamFixtures.open();
  js = fx.nc.jetstream();
});
after(async () => {
  await fx.close();
});

describe('governor over jetStreamLag', () => {
  it("governor - a producer governed by a JetStream consumer's lag slows to the consumers' pace with the lag bounded, speeds back up to maxRate once they catch up, and no message is lost", async () => {
    const f = await fx.create({ max_ack_pending: 1000 });
    const { threshold } = brokerGovernedRun;
    const lag = jetStreamLag(fx.jsm, f.stream, f.consumer, { threshold, intervalMs: 100 });
    const pub = jetStreamPublisher(js, { maxInFlight: 256 });
    try {
      const result = await runGoverned(
        {
          lag,
          publish: (id) => pub.publish(f.subject, String(id)),
          consume: (handle) => consumeJetStream(js, f.stream, f.consumer, (msg) => handle(Number(msg.string())), { concurrency: 50, expiresMs: 1000 }),
        },
        brokerGovernedRun,
      );
      const figures = assertGoverned(result, 2.5);
      reportGoverned('jetstream-lag', result, figures);
    } finally {
      lag.close();
      await pub.close();
    }
  });
});
