// Every error Sluice throws on purpose carries a code (README "Errors").
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AlertMonitor } from '../alerts/index.js';
import { BatchWriter } from '../batch-writer/index.js';
import { Channel } from '../channel/index.js';
import { VirtualClock } from '../testing/index.js';

describe('coded errors', () => {
  it('onAlert() / breaker listeners - a listener that is not a function is ERR_SLUICE_INVALID_ARGUMENT, described briefly', () => {
    const monitor = new AlertMonitor({ components: { c: new Channel({ capacity: 1 }) }, thresholds: { queueDepth: { utilization: 0.9 } } });
    assert.throws(() => monitor.onAlert('x' as never), { code: 'ERR_SLUICE_INVALID_ARGUMENT', message: /onAlert\(listener\).*"x"/ });
    monitor.stop();
    const writer = new BatchWriter<number>({ flush: async () => {} });
    assert.throws(() => writer.onBreakerChange(42 as never), { code: 'ERR_SLUICE_INVALID_ARGUMENT', message: /breaker listener must be a function, got 42/ });
  });

  it('VirtualClock.runAll() - a timer that reschedules itself forever is ERR_SLUICE_LIMIT_EXCEEDED', () => {
    const clock = new VirtualClock();
    const again = (): void => void clock.schedule(1, again);
    again();
    assert.throws(() => clock.runAll(100), { code: 'ERR_SLUICE_LIMIT_EXCEEDED', message: /more than 100 timers/ });
  });
});
