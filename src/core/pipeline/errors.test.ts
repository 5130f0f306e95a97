import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { Channel } from '../channel/index.js';
import type { Publisher } from '../reactive/index.js';
import { batch, buffer, map, pipeline, tap, transform, type PipelineSource } from './index.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

interface SourceUnderTest {
  source: PipelineSource<number>;
  /** True once the pipeline closed the source in the way that kind of source is closed. */
  closed(): boolean;
}

/** Every kind of source, each endless so only an error or an abort can stop the pipeline. */
const sourceKinds: Record<string, () => SourceUnderTest> = {
  'sync generator': () => {
    let finallyRan = false;
    function* naturals() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        finallyRan = true;
      }
    }
    return { source: naturals(), closed: () => finallyRan };
  },
  'async generator': () => {
    let finallyRan = false;
    async function* naturals() {
      try {
        for (let i = 0; ; i++) {
          await Promise.resolve();
          yield i;
        }
      } finally {
        finallyRan = true;
      }
    }
    return { source: naturals(), closed: () => finallyRan };
  },
  'Node Readable': () => {
    let i = 0;
    const readable = new Readable({
      objectMode: true,
      read() {
        this.push(i++);
      },
    });
    return { source: readable, closed: () => readable.destroyed };
  },
  'WHATWG ReadableStream': () => {
    let i = 0;
    let cancelled = false;
    const stream = new ReadableStream<number>({
      pull(controller) {
        controller.enqueue(i++);
      },
      cancel() {
        cancelled = true;
      },
    });
    return { source: stream, closed: () => cancelled };
  },
  Channel: () => {
    const channel = new Channel<number>({ capacity: 1000 });
    for (let i = 0; i < 1000; i++) channel.trySend(i);
    return { source: channel, closed: () => channel.closed };
  },
  Publisher: () => {
    let cancelled = false;
    const publisher: Publisher<number> = {
      subscribe(subscriber) {
        let i = 0;
        subscriber.onSubscribe({
          request(n) {
            for (let k = 0; k < n && !cancelled; k++) subscriber.onNext(i++);
          },
          cancel() {
            cancelled = true;
          },
        });
      },
    };
    return { source: publisher, closed: () => cancelled };
  },
};

describe('pipeline() errors close every kind of source', () => {
  for (const [kind, make] of Object.entries(sourceKinds)) {
    it(`pipeline() - a stage error closes a ${kind} source and rejects with the original error`, async () => {
      const { source, closed } = make();
      const boom = new Error(`boom from map over ${kind}`);
      const received: number[] = [];
      const result = pipeline(
        source,
        map((n: number) => {
          if (n === 3) throw boom;
          return n;
        }),
        (n: number) => void received.push(n),
      );
      await assert.rejects(result, (e) => e === boom);
      assert.deepEqual(received, [0, 1, 2]);
      assert.ok(closed(), `${kind} was not closed`);
    });

    it(`pipeline() - an abort closes a ${kind} source and rejects with signal.reason`, async () => {
      const { source, closed } = make();
      const controller = new AbortController();
      const reason = new Error(`stop reading ${kind}`);
      const result = pipeline(
        source,
        map(async (n: number) => n, { concurrency: 2 }),
        (n: number) => {
          if (n === 5) controller.abort(reason);
        },
        { signal: controller.signal },
      );
      await assert.rejects(result, (e) => e === reason);
      assert.ok(closed(), `${kind} was not closed`);
    });
  }
});

describe('pipeline() errors', () => {
  it('pipeline() - an already aborted signal rejects with its reason and closes the source', async () => {
    const { source, closed } = sourceKinds['async generator']!();
    let sinkCalls = 0;
    const reason = new Error('aborted before start');
    await assert.rejects(
      pipeline(source, () => void sinkCalls++, { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    assert.equal(sinkCalls, 0);
    // A generator that never started has no finally to run; it is closed all the same.
    assert.ok(!closed());
    const next = await (source as AsyncGenerator<number>).next();
    assert.equal(next.done, true);
  });

  it('pipeline() - a failing source rejects with its error', async () => {
    const boom = new Error('source broke');
    async function* broken() {
      yield 1;
      throw boom;
    }
    await assert.rejects(pipeline(broken(), () => {}), (e) => e === boom);
  });

  it('pipeline() - a failing sink rejects with its error and closes the source', async () => {
    const { source, closed } = sourceKinds['sync generator']!();
    const boom = new Error('sink broke');
    await assert.rejects(
      pipeline(source, async (n: number) => {
        if (n === 2) throw boom;
      }),
      (e) => e === boom,
    );
    assert.ok(closed());
  });

  it('pipeline() - a rejected call behind a slow one fails the pipeline without waiting for it', async () => {
    const boom = new Error('second call failed');
    let slowSignal: AbortSignal | undefined;
    const result = pipeline(
      [1, 2, 3],
      map(
        (n: number, { signal }) => {
          if (n === 1) {
            slowSignal = signal;
            return new Promise<number>(() => {}); // never settles
          }
          return n === 2 ? Promise.reject(boom) : Promise.resolve(n);
        },
        { concurrency: 3 },
      ),
      () => {},
    );
    await assert.rejects(result, (e) => e === boom);
    assert.equal(slowSignal?.aborted, true);
    assert.equal(slowSignal?.reason, boom);
  });

  it('pipeline() - an error upstream of a buffer fails the pipeline while the sink is busy', async () => {
    const boom = new Error('parse failed');
    let sinkRelease: () => void = () => {};
    const result = pipeline(
      [1, 2, 3, 4],
      map((n: number) => {
        if (n === 3) throw boom;
        return n;
      }),
      buffer<number>({ capacity: 10 }),
      () => new Promise<void>((r) => (sinkRelease = r)),
    );
    await assert.rejects(result, (e) => e === boom);
    sinkRelease();
  });

  it('pipeline() - an error downstream lets a transform() generator run its finally block', async () => {
    let transformFinally = false;
    const boom = new Error('downstream');
    await assert.rejects(
      pipeline(
        sourceKinds['async generator']!().source,
        transform(async function* (source: AsyncIterable<number>) {
          try {
            for await (const n of source) yield n;
          } finally {
            transformFinally = true;
          }
        }),
        batch<number>({ size: 2 }),
        (b: number[]) => {
          if (b[0] === 4) throw boom;
        },
      ),
      (e) => e === boom,
    );
    assert.ok(transformFinally);
  });

  it("pipeline() - a Writable sink's 'error' event rejects with that error", async () => {
    const boom = new Error('disk full');
    const writable = new Writable({
      objectMode: true,
      write(_item, _enc, cb) {
        cb(boom);
      },
    });
    await assert.rejects(pipeline(sourceKinds['sync generator']!().source, writable), (e) => e === boom);
    assert.ok(writable.destroyed);
  });

  it('pipeline() - a failure destroys a Writable sink and aborts a WritableStream sink', async () => {
    const boom = new Error('stage failed');
    const failAt3 = () =>
      tap((n: number) => {
        if (n === 3) throw boom;
      });
    const writable = new Writable({ objectMode: true, write: (_i, _e, cb) => cb() });
    await assert.rejects(pipeline([1, 2, 3, 4], failAt3(), writable), (e) => e === boom);
    assert.ok(writable.destroyed);

    let abortReason: unknown;
    const stream = new WritableStream<number>({
      abort(reason) {
        abortReason = reason;
      },
    });
    await assert.rejects(pipeline([1, 2, 3, 4], failAt3(), stream), (e) => e === boom);
    assert.equal(abortReason, boom);
  });

  it('pipeline() - a failure closes a Channel sink so its consumers stop waiting', async () => {
    const channel = new Channel<number>({ capacity: 10 });
    const consumer = (async () => {
      const got: number[] = [];
      for await (const n of channel) got.push(n);
      return got;
    })();
    const boom = new Error('stop');
    await assert.rejects(
      pipeline(
        [1, 2, 3],
        tap((n: number) => {
          if (n === 3) throw boom;
        }),
        channel,
      ),
      (e) => e === boom,
    );
    assert.deepEqual(await consumer, [1, 2]);
  });

  it('pipeline() - an abort while the sink channel is full leaves nothing half-sent', async () => {
    const channel = new Channel<number>({ capacity: 1 });
    const controller = new AbortController();
    const result = pipeline([1, 2, 3], channel, { signal: controller.signal, end: false });
    await tick();
    assert.equal(channel.size, 1);
    controller.abort(new Error('cancelled'));
    await assert.rejects(result, /cancelled/);
    assert.equal(channel.closed, false);
    assert.equal(channel.stats().droppedBy.aborted, 1);
    assert.equal(channel.tryReceive(), 1);
    assert.equal(channel.tryReceive(), undefined);
  });
});
