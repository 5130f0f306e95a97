import type { TimerHandle } from '../../core/clock/index.js';
import { ChannelClosedError, InvalidArgumentError } from '../../core/errors/index.js';
import { PressureSwitch, shouldRequeue, Slots, tryPermit, type LimiterLike, type PermitLike } from '../internal/brokers.js';
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

type State = 'new' | 'running' | 'stopping' | 'stopped';

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
  private readonly handler: (message: M) => unknown;
  private readonly o: ResolvedJetStreamOptions<M>;
  private readonly limiter: LimiterLike;
  private readonly pressureSwitch: PressureSwitch;
  private readonly halt = new AbortController();
  private readonly onSignal = () => void this.stop();
  private consumer: JetStreamPullConsumer<M> | undefined;
  /** Created once the consumer's max_ack_pending is known. */
  private held: HeldMessages<M> | undefined;
  private sizer: PollSizerLike | undefined;
  private state: State = 'new';
  private batch: JetStreamBatch<M> | undefined;
  private loopDone: Promise<void> | undefined;
  private sleepTimer: TimerHandle | undefined;
  private wake: (() => void) | undefined;
  private stopping: Promise<void> | undefined;

  private maxAckPendingValue = 0;
  private ackWaitMsValue = 0;
  private heartbeatMsValue = 0;
  private running = 0;
  private waiting = 0;
  private maxRunning = 0;
  private deliveredCount = 0;
  private ackedCount = 0;
  private failedCount = 0;
  private requeuedCount = 0;
  private terminatedCount = 0;
  private returnedCount = 0;
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
      throw new InvalidArgumentError('consumeJetStream(js, ...): js must be a nats JetStreamClient (nc.jetstream())');
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
    this.handler = handler;
    this.limiter = this.o.limiter ?? new Slots(this.o.concurrency);
    this.pressureSwitch = new PressureSwitch(this.o.pressure, this.o.resumeBelow);
  }

  /** True while pressure holds fetching paused. */
  get paused(): boolean {
    return this.pressureSwitch.paused;
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
  async start(): Promise<void> {
    if (this.state !== 'new') throw new InvalidArgumentError('start(): the consumer was already started');
    this.state = 'running';
    const signal = this.o.signal;
    if (signal) {
      if (signal.aborted) {
        await this.stop();
        throw signal.reason;
      }
      signal.addEventListener('abort', this.onSignal, { once: true });
    }
    try {
      this.consumer = await this.js.consumers.get(this.stream, this.consumerName);
      this.configure((await this.consumer.info()).config);
    } catch (error) {
      await this.stop();
      throw error;
    }
    if (this.state !== 'running') {
      await this.stopping;
      throw signal?.aborted ? signal.reason : new ChannelClosedError('consumer stopped while starting');
    }
    this.held!.startHeartbeats(this.heartbeatMsValue);
    this.loopDone = this.loop();
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
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  stats(): JetStreamConsumerStats {
    return {
      stream: this.stream,
      consumer: this.consumerName,
      delivered: this.deliveredCount,
      acked: this.ackedCount,
      failed: this.failedCount,
      requeued: this.requeuedCount,
      terminated: this.terminatedCount,
      returned: this.returnedCount,
      settleErrors: this.held?.settleErrors ?? 0,
      held: this.held?.size ?? 0,
      running: this.running,
      waiting: this.waiting,
      maxHeld: this.held?.maxHeld ?? 0,
      maxRunning: this.maxRunning,
      fetches: this.fetchCount,
      fetchErrors: this.fetchErrorCount,
      lastFetchSize: this.lastFetchSize,
      heartbeats: this.held?.heartbeats ?? 0,
      paused: this.pressureSwitch.paused,
      pauses: this.pressureSwitch.pauses,
      resumes: this.pressureSwitch.resumes,
      pressure: this.pressureSwitch.lastReading,
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
    while (this.state === 'running') {
      try {
        await this.cycle();
      } catch (error) {
        if (this.state !== 'running') break;
        this.fetchErrorCount++;
        this.report(error, undefined);
        await this.sleep(this.o.retryDelayMs);
      }
    }
  }

  /** One fetch: wait for room, size the batch, take what arrives. */
  private async cycle(): Promise<void> {
    while (this.readPressure()) {
      await this.sleep(this.o.checkIntervalMs);
      if (this.state !== 'running') return;
    }
    const held = this.held!;
    const credits = held.credits;
    const signal = this.halt.signal;
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
    if (this.state !== 'running') {
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
        this.deliveredCount++;
        const entry = held.hold(message);
        if (this.state !== 'running') {
          this.giveBack(entry);
        } else if (first !== undefined) {
          void this.process(entry, first);
          first = undefined;
        } else {
          this.dispatch(entry);
        }
      }
    } finally {
      this.batch = undefined;
      first?.ignore();
      if (taken > received) credits.grant(taken - received);
      held.returnDeferred();
    }
  }

  private readPressure(): boolean {
    try {
      return this.pressureSwitch.check();
    } catch (error) {
      this.report(error, undefined);
      return this.pressureSwitch.paused;
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
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

  private dispatch(held: Held<M>): void {
    const permit = this.waiting === 0 ? tryPermit(this.limiter) : undefined;
    if (permit !== undefined) {
      void this.process(held, permit);
      return;
    }
    this.waiting++;
    this.limiter.acquire({ signal: this.halt.signal }).then(
      (granted) => {
        this.waiting--;
        if (this.state === 'running') {
          void this.process(held, granted);
        } else {
          granted.ignore();
          this.giveBack(held);
        }
      },
      () => {
        this.waiting--;
        this.giveBack(held);
      },
    );
  }

  private async process(held: Held<M>, permit: PermitLike): Promise<void> {
    if (++this.running > this.maxRunning) this.maxRunning = this.running;
    const message = held.message;
    const clock = this.o.clock;
    const startedAt = clock.now();
    let failed = false;
    let failure: unknown;
    try {
      await this.handler(message);
    } catch (error) {
      failed = true;
      failure = error;
    }
    const elapsed = clock.now() - startedAt;
    this.running--;
    if (!failed) {
      this.ackedCount++;
      this.held!.settle(held, 'ack');
      permit.success();
    } else {
      this.failedCount++;
      this.report(failure, message);
      const requeue = shouldRequeue(this.o.requeue, failure, message);
      if (requeue) this.requeuedCount++;
      else this.terminatedCount++;
      this.held!.settle(held, requeue ? 'nak' : 'term', this.o.nakDelayMs);
      permit.dropped();
    }
    // Handlers run side by side, so each costs the batch its time divided by the concurrency.
    if (this.sizer !== undefined && elapsed >= 0) this.sizer.record(elapsed / Math.max(1, this.limiter.limit));
  }

  private giveBack(held: Held<M>): void {
    this.returnedCount++;
    // While a pull request is open the server would hand a nak'ed message
    // straight back to it; wait until it has ended.
    if (this.batch !== undefined) this.held!.defer(held);
    else this.held!.settle(held, 'nak');
  }

  // ---- shutdown -----------------------------------------------------------------

  private async shutdown(): Promise<void> {
    if (this.state === 'new' || this.state === 'running') this.state = 'stopping';
    this.o.signal?.removeEventListener('abort', this.onSignal);
    this.halt.abort(new ChannelClosedError('consumer stopped'));
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
    this.state = 'stopped';
  }

  private report(error: unknown, message: M | undefined): void {
    if (this.o.onError === undefined) return;
    try {
      this.o.onError(error, message);
    } catch {
      // onError is a notification; its failure must not break the consumer.
    }
  }
}
