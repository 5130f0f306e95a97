import type { TimerHandle } from '../../core/clock/index.js';
import { InvalidArgumentError } from '../../core/errors/index.js';
import { BrokerConsumerCore } from '../internal/broker-consumer.js';
import { Slots, type LimiterLike, type PermitLike } from '../internal/brokers.js';
import { PollSizer } from '../../core/poll-sizer/index.js';
import { HeldMessages, type Held } from './held.js';
import {
  resolveJetStreamOptions,
  resolveServerLimits,
  type JetStreamConsumeOptions,
  type JetStreamConsumerStats,
  type ResolvedJetStreamOptions,
} from './options.js';
import type { JetStreamBatch, JetStreamConsumerClient, JetStreamConsumerInfo, JetStreamMessage, JetStreamPullConsumer, PollSizerLike } from './types.js';
import { describe } from '../../internal/describe.js';

/**
 * A JetStream pull consumer with flow control. Create it with {@link consumeJetStream}.
 *
 * When things happen:
 * - Before each fetch: pressure is read (above 1 pauses fetching until it is at
 *   or below `resumeBelow`); the loop then waits for a credit (fewer than
 *   `maxAckPending` messages held), and for room:
 *   - with a limiter, a window of twice its `limit`: the fetch is made once at
 *     most 1.5 × limit messages are held and asks for the free room in the
 *     window, so the next round arrives while the current one runs;
 *   - without one, a free handler slot (every message fetched before has
 *     started), as a Kafka poll loop, sized by the poll sizer.
 *   Either size is capped by the poll sizer (if given) and the credits left.
 * - As each message arrives: it starts when a permit is free, otherwise it
 *   waits, in arrival order, without holding up the fetch.
 * - Every `heartbeatMs`: `working()` for each message held.
 * - After the handler: ack on success; on failure `onError`, then nak or term.
 *   The credit comes back and the handler time goes to the poll sizer.
 */
export class JetStreamConsumer<M extends JetStreamMessage = JetStreamMessage> {
  readonly stream: string;
  readonly consumerName: string;
  private readonly js: JetStreamConsumerClient<M>;
  private readonly o: ResolvedJetStreamOptions<M>;
  private readonly limiter: LimiterLike;
  private readonly core: BrokerConsumerCore<M, Held<M>>;
  private consumer: JetStreamPullConsumer<M> | undefined;
  /** Created once the consumer's max_ack_pending is known. */
  private held: HeldMessages<M> | undefined;
  private sizer: PollSizerLike | undefined;
  private batch: JetStreamBatch<M> | undefined;
  private loopDone: Promise<void> | undefined;
  private sleepTimer: TimerHandle | undefined;
  private wake: (() => void) | undefined;

  private maxAckPendingValue = 0;
  private ackWaitMsValue = 0;
  private heartbeatMsValue = 0;
  private terminatedCount = 0;
  private fetchCount = 0;
  private fetchErrorCount = 0;
  private lastFetchSize = 0;

  constructor(
    js: JetStreamConsumerClient<M>,
    stream: string,
    consumerName: string,
    handler: (message: M) => unknown,
    options?: JetStreamConsumeOptions<M>,
  ) {
    if (js === null || typeof js !== 'object' || typeof js.consumers?.get !== 'function') {
      throw new InvalidArgumentError('consumeJetStream(js, ...): js must be a nats JetStreamClient (nc.jetstream(), or jetstream(nc) from @nats-io/jetstream)');
    }
    for (const [name, value] of [['stream', stream], ['consumerName', consumerName]] as const) {
      if (typeof value !== 'string' || value.length === 0) {
        throw new InvalidArgumentError(`consumeJetStream(): ${name} must be a non-empty string, got ${describe(value)}`);
      }
    }
    if (typeof handler !== 'function') throw new InvalidArgumentError(`consumeJetStream(): handler must be a function, got ${typeof handler}`);
    this.o = resolveJetStreamOptions(options);
    this.js = js;
    this.stream = stream;
    this.consumerName = consumerName;
    this.limiter = this.o.limiter ?? new Slots(this.o.concurrency);
    this.core = new BrokerConsumerCore<M, Held<M>>(this.o, handler, {
      messageOf: (held) => held.message,
      open: async () => {
        this.consumer = await this.js.consumers.get(this.stream, this.consumerName);
        this.configure((await this.consumer.info()).config);
      },
      opened: () => {
        this.held!.startHeartbeats(this.heartbeatMsValue);
        this.loopDone = this.loop();
      },
      accepting: () => true,
      ack: (held) => this.held!.settle(held, 'ack'),
      requeue: (held) => this.held!.settle(held, 'nak', this.o.nakDelayMs),
      reject: (held) => {
        this.terminatedCount++;
        this.held!.settle(held, 'term');
      },
      giveBack: (held) => this.giveBack(held),
      finished: (_held, elapsed) => {
        // Handlers run side by side, so each costs the batch its time divided by the concurrency.
        if (this.sizer !== undefined && elapsed >= 0) this.sizer.record(elapsed / Math.max(1, this.limiter.limit));
      },
      close: () => this.shutdown(),
    });
  }

  /** True while pressure holds fetching paused. */
  get paused(): boolean {
    return this.core.pressureSwitch.paused;
  }

  /**
   * Looks the consumer up, checks its configuration against the options,
   * and starts the fetch loop. Called once, by {@link consumeJetStream}.
   * Rejects with InvalidArgumentError when the consumer is not an explicit-ack
   * pull consumer, with InvalidOptionError when `maxAckPending` exceeds its
   * max_ack_pending or `heartbeatMs` is not below its ack_wait, and with the
   * server's error when the stream or consumer does not exist.
   *
   * Abort safety: if the `signal` option fires while this runs, the consumer
   * stops and the promise rejects with `signal.reason`.
   */
  start(): Promise<void> {
    return this.core.start();
  }

  /**
   * Stops fetching and resolves once every message held is settled: running
   * handlers finish and are acked (or nak'ed/termed), and messages not yet
   * started are nak'ed so the server redelivers them at once. The fetch in
   * progress is allowed to end (batch full, or `expiresMs`), because its pull
   * request stays open on the server until then and would swallow anything
   * nak'ed earlier; so this takes up to `expiresMs` plus the running handlers'
   * time. Heartbeats go on until the end. Idempotent.
   *
   * Abort safety: takes no signal. It waits for running handlers, so a handler
   * that never settles keeps it pending; give handlers their own timeouts.
   */
  stop(): Promise<void> {
    return this.core.stop();
  }

  stats(): JetStreamConsumerStats {
    const core = this.core;
    const pressure = core.pressureSwitch;
    return {
      stream: this.stream,
      consumer: this.consumerName,
      delivered: core.delivered,
      acked: core.acked,
      failed: core.failed,
      requeued: core.requeued,
      terminated: this.terminatedCount,
      returned: core.returned,
      settleErrors: this.held?.settleErrors ?? 0,
      held: this.held?.size ?? 0,
      running: core.running,
      waiting: core.waiting,
      maxHeld: this.held?.maxHeld ?? 0,
      maxRunning: core.maxRunning,
      fetches: this.fetchCount,
      fetchErrors: this.fetchErrorCount,
      lastFetchSize: this.lastFetchSize,
      heartbeats: this.held?.heartbeats ?? 0,
      paused: pressure.paused,
      pauses: pressure.pauses,
      resumes: pressure.resumes,
      pressure: pressure.lastReading,
      maxAckPending: this.maxAckPendingValue,
      ackWaitMs: this.ackWaitMsValue,
      heartbeatMs: this.heartbeatMsValue,
      averageMsPerItem: this.sizer?.averageMsPerItem ?? 0,
    };
  }

  // ---- setup --------------------------------------------------------------------

  private configure(config: JetStreamConsumerInfo['config']): void {
    const limits = resolveServerLimits(this.consumerName, config, this.o);
    this.ackWaitMsValue = limits.ackWaitMs;
    this.maxAckPendingValue = limits.maxAckPending;
    this.heartbeatMsValue = limits.heartbeatMs;
    this.held = new HeldMessages<M>(limits.maxAckPending, this.o.clock);
    this.sizer =
      this.o.pollSizer ??
      (this.o.limiter === undefined
        ? new PollSizer({ maxPollIntervalMs: limits.ackWaitMs, maxPollRecords: Math.min(500, limits.maxAckPending) })
        : undefined);
  }

  // ---- fetch loop ---------------------------------------------------------------

  private async loop(): Promise<void> {
    const core = this.core;
    while (core.state === 'running') {
      try {
        await this.cycle();
      } catch (error) {
        if (core.state !== 'running') break;
        this.fetchErrorCount++;
        core.report(error, undefined);
        await this.sleep(this.o.retryDelayMs);
      }
    }
  }

  /** One fetch: wait for room, size the batch, take what arrives. */
  private async cycle(): Promise<void> {
    const core = this.core;
    while (core.readPressure()) {
      await this.sleep(this.o.checkIntervalMs);
      if (core.state !== 'running') return;
    }
    const held = this.held!;
    const credits = held.credits;
    const signal = core.halt.signal;
    await credits.acquire(1, { signal });
    let first: PermitLike | undefined;
    let wanted = Infinity;
    try {
      const limiter = this.o.limiter;
      if (limiter !== undefined) {
        // A window of two rounds: the next batch is fetched while a round still
        // runs, so handlers do not sit idle for the fetch's round trip.
        // Capped by the credits, which also covers a limiter with no finite limit.
        const window = Math.min(2 * Math.max(1, Math.floor(limiter.limit) || 1), this.maxAckPendingValue);
        await held.roomFor(window - Math.ceil(window / 4));
        wanted = window - held.size;
      } else {
        // Kafka-style: the next poll once every message already fetched has started.
        first = await this.limiter.acquire({ signal });
      }
    } catch (error) {
      credits.grant(1);
      throw error;
    }
    if (core.state !== 'running') {
      first?.ignore();
      credits.grant(1);
      return;
    }
    const sizer = this.sizer;
    // Work already held is time the new batch has to wait behind.
    if (sizer !== undefined) wanted = Math.min(wanted, sizer.next(held.size * sizer.averageMsPerItem));
    let taken = 1;
    while (taken < wanted && credits.available > 0 && credits.tryAcquire()) taken++;
    let received = 0;
    try {
      const batch = await this.consumer!.fetch({ max_messages: taken, expires: this.o.expiresMs });
      this.fetchCount++;
      this.lastFetchSize = taken;
      this.batch = batch;
      for await (const message of batch) {
        received++;
        core.delivered++;
        const entry = held.hold(message);
        if (core.state !== 'running') {
          this.giveBack(entry);
        } else if (first !== undefined) {
          void core.process(entry, first);
          first = undefined;
        } else {
          core.dispatch(entry, this.limiter);
        }
      }
    } finally {
      this.batch = undefined;
      first?.ignore();
      if (taken > received) credits.grant(taken - received);
      held.returnDeferred();
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.core.state !== 'running') return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = () => {
        if (this.sleepTimer !== undefined) this.o.clock.cancel(this.sleepTimer);
        this.sleepTimer = undefined;
        this.wake = undefined;
        resolve();
      };
      this.sleepTimer = this.o.clock.schedule(ms, this.wake);
    });
  }

  // ---- messages -----------------------------------------------------------------

  private giveBack(held: Held<M>): void {
    this.core.returned++;
    // While a pull request is open the server would hand a nak'ed message
    // straight back to it; wait until it has ended.
    if (this.batch !== undefined) this.held!.defer(held);
    else this.held!.settle(held, 'nak');
  }

  // ---- shutdown -----------------------------------------------------------------

  /** What stop() does once the core has halted permit and credit waits. */
  private async shutdown(): Promise<void> {
    this.wake?.();
    const held = this.held;
    if (held !== undefined) {
      held.wakeRoom();
      await this.loopDone;
      held.returnDeferred();
      await held.empty();
      held.stopHeartbeats();
      held.credits.close();
    }
  }
}
