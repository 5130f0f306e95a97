import type { TimerHandle } from '../../core/clock/index.js';
import { ChannelClosedError, InvalidArgumentError } from '../../core/errors/index.js';
import { PressureSwitch, shouldRequeue, tryPermit, type PermitLike } from '../internal/brokers.js';
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

type State = 'new' | 'running' | 'stopping' | 'stopped';

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
  private readonly handler: (message: M) => unknown;
  private readonly o: ResolvedConsumeOptions<M>;
  private readonly pressureSwitch: PressureSwitch;
  /** Aborts permit waits when the consumer stops or its channel closes. */
  private readonly halt = new AbortController();
  private readonly onDelivery = (message: M | null) => this.deliver(message);
  private readonly onChannelClose = () => this.channelClosed();
  private readonly onSignal = () => void this.stop();
  private readonly tick = () => this.onTick();
  private state: State = 'new';
  /** The channel closed or the broker cancelled the consumer: no more subscriptions. */
  private dead = false;
  private consumerTag: string | undefined;
  private transition: Promise<void> | undefined;
  private window: number;
  private timer: TimerHandle | undefined;
  private stopping: Promise<void> | undefined;
  private onDrained: (() => void) | undefined;

  private held = 0;
  private running = 0;
  private waiting = 0;
  private maxHeld = 0;
  private maxRunning = 0;
  private deliveredCount = 0;
  private ackedCount = 0;
  private failedCount = 0;
  private requeuedCount = 0;
  private rejectedCount = 0;
  private deadLetteredCount = 0;
  private returnedCount = 0;
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
    this.handler = handler;
    this.window = this.o.prefetch;
    this.pressureSwitch = new PressureSwitch(this.o.pressure, this.o.resumeBelow);
  }

  /** True while pressure holds consumption paused. */
  get paused(): boolean {
    return this.pressureSwitch.paused;
  }

  /**
   * Subscribes (unless pressure is already over 1, in which case the
   * periodic check subscribes once it falls). Called once, by {@link consume}.
   *
   * Abort safety: if the `signal` option fires while this runs, the consumer
   * stops (any subscription made is cancelled) and the promise rejects with `signal.reason`.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new InvalidArgumentError('start(): the consumer was already started');
    this.state = 'running';
    this.channel.on('close', this.onChannelClose);
    const signal = this.o.signal;
    if (signal) {
      if (signal.aborted) {
        await this.stop();
        throw signal.reason;
      }
      signal.addEventListener('abort', this.onSignal, { once: true });
    }
    try {
      if (!this.readPressure()) await this.subscribe();
    } catch (error) {
      await this.stop();
      throw error;
    }
    if (this.stopping) {
      await this.stopping;
      throw signal?.aborted ? signal.reason : new ChannelClosedError('consumer stopped while starting');
    }
    if (this.o.pressure !== undefined || this.o.limiter !== undefined) this.schedule();
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
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  stats(): AmqpConsumerStats {
    return {
      queue: this.queue,
      consumerTag: this.consumerTag,
      consuming: this.consumerTag !== undefined,
      paused: this.pressureSwitch.paused,
      prefetch: this.window,
      delivered: this.deliveredCount,
      acked: this.ackedCount,
      failed: this.failedCount,
      requeued: this.requeuedCount,
      rejected: this.rejectedCount,
      deadLettered: this.deadLetteredCount,
      returned: this.returnedCount,
      settleErrors: this.settleErrorCount,
      held: this.held,
      running: this.running,
      waiting: this.waiting,
      maxHeld: this.maxHeld,
      maxRunning: this.maxRunning,
      pauses: this.pressureSwitch.pauses,
      resumes: this.pressureSwitch.resumes,
      subscriptions: this.subscriptionCount,
      qosChanges: this.qosChangeCount,
      pressure: this.pressureSwitch.lastReading,
    };
  }

  // ---- delivery and completion ------------------------------------------------

  private deliver(message: M | null): void {
    if (message === null) {
      // amqplib's signal that the broker cancelled us (queue deleted, failover).
      this.consumerTag = undefined;
      this.dead = true;
      this.report(new ChannelClosedError(`the broker cancelled the consumer of queue "${this.queue}"`), undefined);
      return;
    }
    this.deliveredCount++;
    if (this.state !== 'running') {
      this.giveBack(message);
      return;
    }
    if (++this.held > this.maxHeld) this.maxHeld = this.held;
    const limiter = this.o.limiter;
    if (limiter === undefined) {
      void this.process(message, undefined);
      return;
    }
    const permit = this.waiting === 0 ? tryPermit(limiter) : undefined;
    if (permit !== undefined) {
      void this.process(message, permit);
      return;
    }
    this.waiting++;
    limiter.acquire({ signal: this.halt.signal }).then(
      (granted) => {
        this.waiting--;
        if (this.state === 'running' && !this.dead) {
          void this.process(message, granted);
        } else {
          granted.ignore();
          this.unstarted(message);
        }
      },
      () => {
        this.waiting--;
        this.unstarted(message);
      },
    );
  }

  private async process(message: M, permit: PermitLike | undefined): Promise<void> {
    if (++this.running > this.maxRunning) this.maxRunning = this.running;
    let failed = false;
    let failure: unknown;
    try {
      await this.handler(message);
    } catch (error) {
      failed = true;
      failure = error;
    }
    this.running--;
    if (!failed) {
      this.ackedCount++;
      this.settle('ack', message);
      permit?.success();
    } else {
      this.failedCount++;
      this.report(failure, message);
      this.dispose(message, failure);
      permit?.dropped();
    }
    this.held--;
    if (this.state === 'running') this.reconcile();
    else this.checkDrained();
  }

  /** A failed message: requeue, dead-letter through the broker, or copy to our own exchange. */
  private dispose(message: M, error: unknown): void {
    if (shouldRequeue(this.o.requeue, error, message)) {
      this.requeuedCount++;
      this.settle('requeue', message);
    } else if (this.o.deadLetterExchange === undefined) {
      this.rejectedCount++;
      this.settle('reject', message);
    } else if (copyToDeadLetterExchange(this.channel, this.o.deadLetterExchange, this.queue, message, error)) {
      this.deadLetteredCount++;
      this.settle('ack', message);
    } else {
      // The copy never left; requeue rather than ack and lose the message.
      this.requeuedCount++;
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
    this.returnedCount++;
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
    if (this.state !== 'running' || this.dead || this.transition !== undefined) return;
    const pressured = this.readPressure();
    if (this.consumerTag !== undefined) {
      if (pressured || this.windowMoved()) this.follow(this.unsubscribe());
      return;
    }
    if (!pressured && this.held * 2 <= this.nextWindow()) this.follow(this.subscribe());
  }

  /** Whether pressure says pause; a pressure source that throws is reported and leaves the state as it was. */
  private readPressure(): boolean {
    try {
      return this.pressureSwitch.check();
    } catch (error) {
      this.report(error, undefined);
      return this.pressureSwitch.paused;
    }
  }

  private follow(transition: Promise<void>): void {
    transition.then(
      () => this.reconcile(),
      (error: unknown) => this.report(error, undefined),
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
    if (this.state !== 'running' || this.dead) return;
    this.reconcile();
    this.schedule();
  }

  // ---- shutdown -----------------------------------------------------------------

  private channelClosed(): void {
    this.dead = true;
    this.consumerTag = undefined;
    this.halt.abort(new ChannelClosedError('AMQP channel closed'));
    if (this.state === 'running') {
      this.report(new ChannelClosedError(`AMQP channel closed; the broker redelivers the ${this.held} unacked message(s)`), undefined);
    }
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'new' || this.state === 'running') this.state = 'stopping';
    if (this.timer !== undefined) this.o.clock.cancel(this.timer);
    this.timer = undefined;
    this.o.signal?.removeEventListener('abort', this.onSignal);
    this.halt.abort(new ChannelClosedError('consumer stopped'));
    while (this.transition !== undefined) await this.transition.catch(() => undefined);
    const tag = this.consumerTag;
    if (tag !== undefined && !this.dead) {
      this.consumerTag = undefined;
      try {
        await this.channel.cancel(tag);
      } catch (error) {
        this.report(error, undefined);
      }
    }
    if (this.held !== 0) await new Promise<void>((resolve) => (this.onDrained = resolve));
    this.channel.removeListener('close', this.onChannelClose);
    this.state = 'stopped';
  }

  private checkDrained(): void {
    if (this.held === 0 && this.onDrained !== undefined) {
      this.onDrained();
      this.onDrained = undefined;
    }
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
