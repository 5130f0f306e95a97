import type { TimerHandle } from '../../core/clock/index.js';
import { ClosedError, InvalidArgumentError } from '../../core/errors/index.js';
import { BrokerConsumerCore } from '../internal/broker-consumer.js';
import { copyToDeadLetterExchange } from './dead-letter.js';
import {
  resolveConsumeOptions,
  windowFor,
  type AmqpConsumeOptions,
  type AmqpConsumerStats,
  type ResolvedConsumeOptions,
} from './options.js';
import type { AmqpChannel, AmqpMessage } from './types.js';
import { describe } from '../../internal/describe.js';

/**
 * A RabbitMQ consumer with flow control. Create it with {@link consume}.
 *
 * When things happen:
 * - On delivery: the handler starts at once (with `prefetch`), or as soon as
 *   the limiter grants a permit (with `limiter`), in delivery order.
 * - On handler success: the message is acked. On failure: `onError`, then nack
 *   with requeue, without requeue, or a copy to `deadLetterExchange` (see `requeue`).
 * - After every completion and every `checkIntervalMs`: pressure is read; above
 *   1 the consumer cancels its subscription (pause); at or below `resumeBelow`
 *   it subscribes again. With a limiter, a limit that moved by `qosChangeRatio`
 *   or more also triggers a cancel and a new subscription with the new window.
 *   A new subscription waits until at most half the new window is still held,
 *   which keeps the messages held at once under 1.5 × the window.
 */
export class AmqpConsumer<M extends AmqpMessage = AmqpMessage> {
  readonly queue: string;
  private readonly channel: AmqpChannel;
  private readonly o: ResolvedConsumeOptions<M>;
  private readonly core: BrokerConsumerCore<M, M>;
  private readonly onDelivery = (message: M | null) => this.deliver(message);
  private readonly onChannelClose = () => this.channelClosed();
  private readonly tick = () => this.onTick();
  /** The channel closed or the broker cancelled the consumer: no more subscriptions. */
  private dead = false;
  private consumerTag: string | undefined;
  private transition: Promise<void> | undefined;
  private window: number;
  private timer: TimerHandle | undefined;
  private onDrained: (() => void) | undefined;

  private held = 0;
  private maxHeld = 0;
  private rejectedCount = 0;
  private deadLetteredCount = 0;
  private settleErrorCount = 0;
  private subscriptionCount = 0;
  private qosChangeCount = 0;

  constructor(channel: AmqpChannel, queue: string, handler: (message: M) => unknown, options?: AmqpConsumeOptions<M>) {
    if (channel === null || typeof channel !== 'object' || typeof channel.consume !== 'function' || typeof channel.prefetch !== 'function') {
      throw new InvalidArgumentError('consume(channel, ...): channel must be an amqplib Channel');
    }
    if (typeof queue !== 'string' || queue.length === 0) {
      throw new InvalidArgumentError(`consume(channel, queue, ...): queue must be a non-empty string, got ${describe(queue)}`);
    }
    if (typeof handler !== 'function') throw new InvalidArgumentError(`consume(..., handler): handler must be a function, got ${typeof handler}`);
    this.o = resolveConsumeOptions(options);
    this.channel = channel;
    this.queue = queue;
    this.window = this.o.prefetch;
    this.core = new BrokerConsumerCore<M, M>(this.o, handler, {
      messageOf: (message) => message,
      open: async () => {
        this.channel.on('close', this.onChannelClose);
        if (!this.core.readPressure()) await this.subscribe();
      },
      opened: () => {
        if (this.o.pressure !== undefined || this.o.limiter !== undefined) this.schedule();
      },
      accepting: () => !this.dead,
      ack: (message) => this.settle('ack', message),
      requeue: (message) => this.settle('requeue', message),
      reject: (message, error) => this.reject(message, error),
      giveBack: (message) => this.unstarted(message),
      finished: () => {
        this.held--;
        if (this.core.state === 'running') this.reconcile();
        else this.checkDrained();
      },
      close: () => this.shutdown(),
    });
  }

  /** True while pressure holds consumption paused. */
  get paused(): boolean {
    return this.core.pressureSwitch.paused;
  }

  /**
   * Subscribes (unless pressure is already over 1, in which case the
   * periodic check subscribes once it falls). Called once, by {@link consume}.
   *
   * Abort safety: if the `signal` option fires while this runs, the consumer
   * stops (any subscription made is cancelled) and the promise rejects with `signal.reason`.
   */
  start(): Promise<void> {
    return this.core.start();
  }

  /**
   * Cancels the subscription, hands messages still waiting for a permit back
   * to the queue (nack with requeue), and resolves once every running handler
   * has finished and its message is acked or nacked. Idempotent.
   *
   * Abort safety: takes no signal. It waits for running handlers, so a handler
   * that never settles keeps it pending; give handlers their own timeouts.
   */
  stop(): Promise<void> {
    return this.core.stop();
  }

  stats(): AmqpConsumerStats {
    const core = this.core;
    const pressure = core.pressureSwitch;
    return {
      queue: this.queue,
      consumerTag: this.consumerTag,
      consuming: this.consumerTag !== undefined,
      paused: pressure.paused,
      prefetch: this.window,
      delivered: core.delivered,
      acked: core.acked,
      failed: core.failed,
      requeued: core.requeued,
      rejected: this.rejectedCount,
      deadLettered: this.deadLetteredCount,
      returned: core.returned,
      settleErrors: this.settleErrorCount,
      held: this.held,
      running: core.running,
      waiting: core.waiting,
      maxHeld: this.maxHeld,
      maxRunning: core.maxRunning,
      pauses: pressure.pauses,
      resumes: pressure.resumes,
      subscriptions: this.subscriptionCount,
      qosChanges: this.qosChangeCount,
      pressure: pressure.lastReading,
    };
  }

  // ---- delivery and settling ----------------------------------------------------

  private deliver(message: M | null): void {
    const core = this.core;
    if (message === null) {
      // amqplib's signal that the broker cancelled us (queue deleted, failover).
      this.consumerTag = undefined;
      this.dead = true;
      core.report(new ClosedError(`the broker cancelled the consumer of queue "${this.queue}"`), undefined);
      return;
    }
    core.delivered++;
    if (core.state !== 'running') {
      this.giveBack(message);
      return;
    }
    if (++this.held > this.maxHeld) this.maxHeld = this.held;
    const limiter = this.o.limiter;
    if (limiter === undefined) void core.process(message, undefined);
    else core.dispatch(message, limiter);
  }

  /** A failed message not requeued: dead-letter through the broker, or copy to our own exchange. */
  private reject(message: M, error: unknown): void {
    if (this.o.deadLetterExchange === undefined) {
      this.rejectedCount++;
      this.settle('reject', message);
    } else if (copyToDeadLetterExchange(this.channel, this.o.deadLetterExchange, this.queue, message, error)) {
      this.deadLetteredCount++;
      this.settle('ack', message);
    } else {
      // The copy never left; requeue rather than ack and lose the message.
      this.core.requeued++;
      this.settle('requeue', message);
    }
  }

  private settle(how: 'ack' | 'requeue' | 'reject', message: M): void {
    try {
      if (how === 'ack') this.channel.ack(message);
      else this.channel.nack(message, false, how === 'requeue');
    } catch {
      // The channel closed: the broker redelivers every unacked message itself.
      this.settleErrorCount++;
    }
  }

  /** A delivered message that will not be processed goes back to the queue. */
  private giveBack(message: M): void {
    this.core.returned++;
    this.settle('requeue', message);
  }

  private unstarted(message: M): void {
    this.giveBack(message);
    this.held--;
    this.checkDrained();
  }

  // ---- subscription management -------------------------------------------------

  /** Brings the subscription in line with pressure and the limiter; starts at most one transition. */
  private reconcile(): void {
    if (this.core.state !== 'running' || this.dead || this.transition !== undefined) return;
    const pressured = this.core.readPressure();
    if (this.consumerTag !== undefined) {
      if (pressured || this.windowMoved()) this.follow(this.unsubscribe());
      return;
    }
    if (!pressured && this.held * 2 <= this.nextWindow()) this.follow(this.subscribe());
  }

  private follow(transition: Promise<void>): void {
    transition.then(
      () => this.reconcile(),
      (error: unknown) => this.core.report(error, undefined),
    );
  }

  private nextWindow(): number {
    return this.o.limiter === undefined ? this.o.prefetch : windowFor(this.o.limiter.limit);
  }

  private windowMoved(): boolean {
    if (this.o.limiter === undefined) return false;
    const target = windowFor(this.o.limiter.limit);
    return Math.abs(target - this.window) >= Math.max(1, this.o.qosChangeRatio * this.window);
  }

  private subscribe(): Promise<void> {
    const window = this.nextWindow();
    const run = async () => {
      await this.channel.prefetch(window, false);
      const { consumerTag } = await this.channel.consume(this.queue, this.onDelivery, { noAck: false });
      if (this.subscriptionCount++ > 0 && window !== this.window) this.qosChangeCount++;
      this.window = window;
      this.consumerTag = consumerTag;
    };
    return this.track(run());
  }

  private unsubscribe(): Promise<void> {
    const tag = this.consumerTag!;
    this.consumerTag = undefined;
    return this.track(this.channel.cancel(tag).then(() => undefined));
  }

  private track(transition: Promise<void>): Promise<void> {
    const tracked = transition.finally(() => {
      if (this.transition === tracked) this.transition = undefined;
    });
    this.transition = tracked;
    return tracked;
  }

  private schedule(): void {
    this.timer = this.o.clock.schedule(this.o.checkIntervalMs, this.tick, { unref: true });
  }

  private onTick(): void {
    this.timer = undefined;
    if (this.core.state !== 'running' || this.dead) return;
    this.reconcile();
    this.schedule();
  }

  // ---- shutdown -----------------------------------------------------------------

  private channelClosed(): void {
    this.dead = true;
    this.consumerTag = undefined;
    this.core.halt.abort(new ClosedError('AMQP channel closed'));
    if (this.core.state === 'running') {
      this.core.report(new ClosedError(`AMQP channel closed; the broker redelivers the ${this.held} unacked message(s)`), undefined);
    }
  }

  /** What stop() does once the core has halted permit waits. */
  private async shutdown(): Promise<void> {
    if (this.timer !== undefined) this.o.clock.cancel(this.timer);
    this.timer = undefined;
    while (this.transition !== undefined) await this.transition.catch(() => undefined);
    const tag = this.consumerTag;
    if (tag !== undefined && !this.dead) {
      this.consumerTag = undefined;
      try {
        await this.channel.cancel(tag);
      } catch (error) {
        this.core.report(error, undefined);
      }
    }
    if (this.held !== 0) await new Promise<void>((resolve) => (this.onDrained = resolve));
    this.channel.removeListener('close', this.onChannelClose);
  }

  private checkDrained(): void {
    if (this.held === 0 && this.onDrained !== undefined) {
      this.onDrained();
      this.onDrained = undefined;
    }
  }
}
