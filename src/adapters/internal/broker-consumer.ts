import type { Clock } from '../../core/clock/index.js';
import { ClosedError, InvalidArgumentError } from '../../core/errors/index.js';
import type { Pressure } from '../../core/pressure/index.js';
import { PressureSwitch, shouldRequeue, tryPermit, type LimiterLike, type PermitLike } from './brokers.js';

// The part of a flow-controlled broker consumer that does not depend on the
// broker: start/stop with an abort signal, a permit per handler run in arrival
// order, settling by outcome and the `requeue` rule, the pressure switch, the
// counters and error reports. The AMQP consumer (push: subscribe/cancel) and
// the JetStream consumer (pull: a fetch loop) keep what differs — how messages
// arrive, how intake pauses, what a held message costs — behind BrokerSide.

export type ConsumerState = 'new' | 'running' | 'stopping' | 'stopped';

/** The resolved options every broker consumer has. */
export interface BrokerConsumerOptions<M> {
  pressure: Pressure | undefined;
  resumeBelow: number;
  requeue: boolean | ((error: unknown, message: M) => boolean);
  onError: ((error: unknown, message: M | undefined) => void) | undefined;
  signal: AbortSignal | undefined;
  clock: Clock;
}

/**
 * What an adapter tells the core about its broker. `E` is the adapter's record
 * of a held message (the message itself, or a list node around it).
 */
export interface BrokerSide<M, E> {
  messageOf(entry: E): M;
  /** Start-up after the signal is hooked: subscribe, or look the consumer up. A rejection stops the consumer. */
  open(): Promise<void>;
  /** Start-up succeeded and the consumer was not stopped meanwhile: start timers or the fetch loop. */
  opened(): void;
  /** Whether a message whose permit just arrived may still run (the core has checked it is running). */
  accepting(): boolean;
  /** The handler succeeded. */
  ack(entry: E): void;
  /** The handler failed and `requeue` says retry: back to the queue for redelivery. */
  requeue(entry: E): void;
  /** The handler failed and `requeue` says do not retry: reject, dead-letter or terminate. */
  reject(entry: E, error: unknown): void;
  /** A held message that will not run (stopping, closed): back to the broker unprocessed, and no longer held. */
  giveBack(entry: E): void;
  /** After a run's message is settled and its permit released; `elapsedMs` is the handler's time. */
  finished(entry: E, elapsedMs: number): void;
  /** The rest of stop(), after intake is halted: resolves once nothing is held. */
  close(): Promise<void>;
}

export class BrokerConsumerCore<M, E> {
  state: ConsumerState = 'new';
  /** Aborts permit waits when the consumer stops (and, for an adapter, when its connection goes). */
  readonly halt = new AbortController();
  /** The options of every permit wait: one object for the consumer's life, not one per waiting message. */
  private readonly waitOptions = { signal: this.halt.signal };
  readonly pressureSwitch: PressureSwitch;
  delivered = 0;
  acked = 0;
  failed = 0;
  requeued = 0;
  returned = 0;
  running = 0;
  waiting = 0;
  maxRunning = 0;
  private readonly onSignal = () => void this.stop();
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly o: BrokerConsumerOptions<M>,
    private readonly handler: (message: M) => unknown,
    private readonly side: BrokerSide<M, E>,
  ) {
    this.pressureSwitch = new PressureSwitch(o.pressure, o.resumeBelow);
  }

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
      await this.side.open();
    } catch (error) {
      await this.stop();
      throw error;
    }
    if (this.state !== 'running') {
      await this.stopping;
      throw signal?.aborted ? signal.reason : new ClosedError('consumer stopped while starting');
    }
    this.side.opened();
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Runs the message now if a permit is free and nobody waits, otherwise once one is granted, in arrival order. */
  dispatch(entry: E, limiter: LimiterLike): void {
    const permit = this.waiting === 0 ? tryPermit(limiter) : undefined;
    if (permit !== undefined) {
      void this.process(entry, permit);
      return;
    }
    this.waiting++;
    limiter.acquire(this.waitOptions).then(
      (granted) => {
        this.waiting--;
        if (this.state === 'running' && this.side.accepting()) {
          void this.process(entry, granted);
        } else {
          granted.ignore();
          this.side.giveBack(entry);
        }
      },
      () => {
        this.waiting--;
        this.side.giveBack(entry);
      },
    );
  }

  /** Runs the handler and settles the message by its outcome; never rejects. */
  async process(entry: E, permit: PermitLike | undefined): Promise<void> {
    if (++this.running > this.maxRunning) this.maxRunning = this.running;
    const message = this.side.messageOf(entry);
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
      this.acked++;
      this.side.ack(entry);
      permit?.success();
    } else {
      this.failed++;
      this.report(failure, message);
      if (shouldRequeue(this.o.requeue, failure, message)) {
        this.requeued++;
        this.side.requeue(entry);
      } else {
        this.side.reject(entry, failure);
      }
      permit?.dropped();
    }
    this.side.finished(entry, elapsed);
  }

  /** Whether pressure says pause; a pressure source that throws is reported and leaves the state as it was. */
  readPressure(): boolean {
    try {
      return this.pressureSwitch.check();
    } catch (error) {
      this.report(error, undefined);
      return this.pressureSwitch.paused;
    }
  }

  report(error: unknown, message: M | undefined): void {
    if (this.o.onError === undefined) return;
    try {
      this.o.onError(error, message);
    } catch {
      // onError is a notification; its failure must not break the consumer.
    }
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'new' || this.state === 'running') this.state = 'stopping';
    this.o.signal?.removeEventListener('abort', this.onSignal);
    this.halt.abort(new ClosedError('consumer stopped'));
    await this.side.close();
    this.state = 'stopped';
  }
}
