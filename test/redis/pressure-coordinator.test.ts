import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { cleanup, connect, recording, sleep, uniqueKey, waitFor } from './helpers.js';
import { PressureCoordinator } from '../../src/adapters/redis/index.js';

let redis: Redis;
const prefix = uniqueKey('pressure');
const key = (name: string) => `${prefix}:${name}`;

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

function nodes(name: string, ids: string[], ttlMs = 5000): PressureCoordinator[] {
  return ids.map((nodeId) => new PressureCoordinator({ redis, nodeId, ttlMs, key: key(name) }));
}

describe('PressureCoordinator', () => {
  it('globalPressure() - returns every live node’s latest report', async () => {
    const [a, b, c] = nodes('global', ['a', 'b', 'c']);
    assert.equal(await a!.report(0.2), true);
    await b!.report(0.7);
    await b!.report(0.9);
    await c!.report(Infinity);
    assert.deepEqual(await a!.globalPressure(), { a: 0.2, b: 0.9, c: Infinity });
    [a, b, c].forEach((n) => n!.close());
  });

  it('globalPressure() - a node that stops reporting disappears after its TTL', async () => {
    const [alive, dying] = nodes('ttl', ['alive', 'dying'], 250);
    await alive!.report(0.5);
    await dying!.report(0.1);
    assert.deepEqual(Object.keys(await alive!.globalPressure()).sort(), ['alive', 'dying']);
    await sleep(150);
    await alive!.report(0.5); // alive keeps reporting; dying has "crashed"
    await sleep(150);
    assert.deepEqual(await alive!.globalPressure(), { alive: 0.5 });
    // The next report also purges the dead node's reading from the hash.
    await alive!.report(0.5);
    assert.deepEqual(await redis.hkeys(`{${key('ttl')}}:pressure`), ['alive']);
    [alive, dying].forEach((n) => n!.close());
  });

  it('shouldAcceptWork() - true for the least loaded node and any within 10% of it, false beyond', async () => {
    const [least, close, far] = nodes('accept', ['least', 'close', 'far']);
    await least!.report(0.5);
    await close!.report(0.54);
    await far!.report(0.6);
    assert.deepEqual(await Promise.all([least!, close!, far!].map((n) => n.shouldAcceptWork())), [true, true, false]);
    await far!.report(0.3); // now far is the least loaded
    assert.deepEqual(await Promise.all([least!, close!, far!].map((n) => n.shouldAcceptWork())), [false, false, true]);
    assert.deepEqual([least!.stats().accepted, least!.stats().declined], [1, 1]);
    [least, close, far].forEach((n) => n!.close());
  });

  it('shouldAcceptWork() - the tolerance option widens the band', async () => {
    const [a, b] = ['a', 'b'].map((nodeId) => new PressureCoordinator({ redis, nodeId, ttlMs: 5000, key: key('tolerance'), tolerance: 0.5 }));
    await a!.report(0.4);
    await b!.report(0.59);
    assert.equal(await b!.shouldAcceptWork(), true);
    [a, b].forEach((n) => n!.close());
  });

  it('onChange() - hears every node’s reports as they are published', async () => {
    const [watcher, reporter] = nodes('changes', ['watcher', 'reporter']);
    const heard: [string, number][] = [];
    const unsubscribe = watcher!.onChange((nodeId, pressure) => heard.push([nodeId, pressure]));
    await sleep(50); // subscription confirmed
    await reporter!.report(0.25);
    await reporter!.report(1.5);
    await waitFor(() => heard.length === 2, 1000, 'two change messages');
    assert.deepEqual(heard, [
      ['reporter', 0.25],
      ['reporter', 1.5],
    ]);
    unsubscribe();
    await reporter!.report(0.1);
    await sleep(50);
    assert.equal(heard.length, 2);
    [watcher, reporter].forEach((n) => n!.close());
  });

  it('source - reports the reading by itself every reportIntervalMs, keeping the node alive', async () => {
    let reading = 0.3;
    const node = new PressureCoordinator({ redis, nodeId: 'auto', ttlMs: 200, reportIntervalMs: 50, key: key('source'), source: () => reading });
    await waitFor(async () => (await node.globalPressure()).auto === 0.3, 1000, 'the first automatic report');
    reading = 0.8;
    await sleep(400); // twice the TTL: only the automatic reports keep it listed
    assert.deepEqual(await node.globalPressure(), { auto: 0.8 });
    assert.ok(node.stats().reports >= 5, `reports ${node.stats().reports}`);
    node.close();
  });

  it('leave() - removes the node at once', async () => {
    const [a, b] = nodes('leave', ['a', 'b']);
    await a!.report(0.1);
    await b!.report(0.2);
    assert.equal(await a!.leave(), true);
    assert.deepEqual(await b!.globalPressure(), { b: 0.2 });
    [a, b].forEach((n) => n!.close());
  });

  it('report() - rejects negative or NaN pressure with ERR_SLUICE_INVALID_ARGUMENT, and calls after close with ERR_SLUICE_CLOSED', async () => {
    const [node] = nodes('bad', ['n']);
    await assert.rejects(node!.report(-1), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    await assert.rejects(node!.report(Number.NaN), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    node!.close();
    await assert.rejects(node!.report(0.5), { code: 'ERR_SLUICE_CLOSED' });
    await assert.rejects(node!.shouldAcceptWork(), { code: 'ERR_SLUICE_CLOSED' });
  });

  it('globalPressure() - uses a sorted set and a hash under one hash tag, never KEYS', async () => {
    const { client, commands } = recording(redis);
    const node = new PressureCoordinator({ redis: client, nodeId: 'x', ttlMs: 1000, key: key('layout') });
    await node.report(0.4);
    await node.globalPressure();
    await node.shouldAcceptWork();
    assert.ok(commands.every((c) => c === 'EVALSHA' || c === 'EVAL'), commands.join(','));
    assert.equal(await redis.type(`{${key('layout')}}:nodes`), 'zset');
    assert.equal(await redis.type(`{${key('layout')}}:pressure`), 'hash');
    node.close();
  });
});
