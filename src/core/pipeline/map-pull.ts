import { RingBuffer } from '../../internal/ring-buffer.js';
import { END, PENDING, RESOLVED, Wakeup, isThenable, type End, type Pending, type Pull, type RunContext } from './pull.js';

/** Returned by a step to say "emit nothing for this item" (filter's rejects). */
export const SKIP: unique symbol = Symbol('sluice.skip');
export type Skip = typeof SKIP;

/** The per-item function a MapPull runs; may answer synchronously or with a promise. */
export type Step<A, B> = (item: A, options: { readonly signal: AbortSignal }) => B | Skip | PromiseLike<B | Skip>;

/** Counters shared by every run of one map-like stage. */
export interface MapCounters {
  runs: number;
  received: number;
  emitted: number;
  inFlight: number;
}

/**
 * One place in the ordered window. Slots are recycled once taken, and each
 * carries its settle handler, so a step's promise costs no new closure.
 */
class Slot<B> {
  value: B | Skip | undefined = undefined;
  done = false;
  constructor(private readonly owner: MapPull<unknown, B>) {}
  readonly settle = (value: B | Skip): void => {
    this.value = value;
    this.done = true;
    this.owner.slotSettled(this);
  };
}

const OPEN = 0;
const WAITING = 1;
const ENDED = 2;

/**
 * Runs `step` over its input with at most `concurrency` items between
 * "pulled from upstream" and "taken by downstream": running, or finished and
 * waiting to be taken. That window is the stage's whole memory footprint.
 *
 * Ordered mode keeps input order: a result waits for the ones before it.
 * Unordered mode hands results out as they finish.
 *
 * A step that answers synchronously while nothing is in flight is passed
 * straight through: no slot, no promise.
 */
export class MapPull<A, B> implements Pull<B> {
  private readonly window: RingBuffer<Slot<B>> | undefined;
  private readonly spareSlots: Slot<B>[] = [];
  private readonly finished: RingBuffer<B> | undefined;
  /** Unordered only: steps still running. */
  private running = 0;
  private inputState = OPEN;
  /** poll() answered PENDING with nothing in flight: the consumer can wait on upstream directly. */
  private waitOnInput = false;
  private readonly wakeup: Wakeup;
  private readonly onStepFailed = (error: unknown): void => {
    this.counters.inFlight--;
    this.run.fail(error);
  };
  private readonly onInputReady = (): void => {
    this.inputState = OPEN;
    if (this.occupied() !== 0) {
      try {
        this.fill();
      } catch (error) {
        this.run.fail(error);
        return;
      }
    }
    this.wakeup.wake();
  };

  constructor(
    private readonly input: Pull<A>,
    private readonly step: Step<A, B>,
    private readonly concurrency: number,
    ordered: boolean,
    private readonly run: RunContext,
    private readonly counters: MapCounters,
  ) {
    this.wakeup = new Wakeup(run);
    if (ordered) this.window = new RingBuffer(Math.min(concurrency, 1024));
    else this.finished = new RingBuffer(Math.min(concurrency, 1024));
    counters.runs++;
  }

  poll(): B | Pending | End {
    this.waitOnInput = false;
    for (;;) {
      if (this.occupied() === 0) {
        // Nothing in flight: a synchronous answer can go straight out.
        if (this.inputState !== OPEN) return this.inputState === ENDED ? END : PENDING;
        const item = this.input.poll();
        if (item === PENDING) {
          this.waitOnInput = true;
          return PENDING;
        }
        if (item === END) {
          this.inputState = ENDED;
          return END;
        }
        this.counters.received++;
        const result = this.step(item, this.run.callOptions);
        if (!isThenable(result)) {
          if (result === SKIP) continue;
          this.counters.emitted++;
          return result;
        }
        this.track(result);
      }
      this.fill();
      const out = this.take();
      if (out === SKIP) continue;
      // The taken result freed a place: start the next call while downstream handles this one.
      if (out !== PENDING && out !== END) this.fill();
      return out;
    }
  }

  ready(): Promise<unknown> {
    if (this.waitOnInput) {
      // Nothing else can make progress, so no wake-up of our own (and no extra promise) is needed.
      this.waitOnInput = false;
      return this.input.ready();
    }
    if (this.hasOutput()) return RESOLVED;
    return this.wakeup.wait();
  }

  private occupied(): number {
    return this.window !== undefined ? this.window.length : this.running + this.finished!.length;
  }

  private hasOutput(): boolean {
    if (this.window !== undefined) return this.window.peek()?.done === true;
    return this.finished!.length !== 0;
  }

  /** Starts steps for items upstream has at hand, while the window has room. */
  private fill(): void {
    while (this.inputState === OPEN && this.occupied() < this.concurrency) {
      const item = this.input.poll();
      if (item === PENDING) {
        this.awaitInput();
        return;
      }
      if (item === END) {
        this.inputState = ENDED;
        return;
      }
      this.counters.received++;
      const result = this.step(item, this.run.callOptions);
      if (isThenable(result)) this.track(result);
      else if (result !== SKIP) this.settled(result);
    }
  }

  /** A synchronous result while others are in flight: queued behind them (ordered) or ready now. */
  private settled(value: B): void {
    if (this.window === undefined) {
      this.finished!.push(value);
      return;
    }
    const slot = this.newSlot();
    slot.value = value;
    slot.done = true;
    this.window.push(slot);
  }

  private track(result: PromiseLike<B | Skip>): void {
    this.counters.inFlight++;
    if (this.window !== undefined) {
      const slot = this.newSlot();
      this.window.push(slot);
      result.then(slot.settle, this.onStepFailed);
      return;
    }
    this.running++;
    result.then(this.onUnorderedSettled, this.onStepFailed);
  }

  /** @internal Called by a slot whose step resolved. */
  slotSettled(slot: Slot<B>): void {
    this.counters.inFlight--;
    if (this.window!.peek() === slot) this.wakeup.wake();
  }

  private readonly onUnorderedSettled = (value: B | Skip): void => {
    this.counters.inFlight--;
    this.running--;
    if (value !== SKIP) this.finished!.push(value);
    this.wakeup.wake();
  };

  private newSlot(): Slot<B> {
    return this.spareSlots.pop() ?? new Slot<B>(this as MapPull<unknown, B>);
  }

  /** The next result in order, SKIP for a filtered-out slot, or PENDING/END. */
  private take(): B | Skip | Pending | End {
    const window = this.window;
    if (window !== undefined) {
      const head = window.peek();
      if (head !== undefined && head.done) {
        window.shift();
        const value = head.value;
        head.value = undefined;
        head.done = false;
        this.spareSlots.push(head);
        if (value === SKIP) return SKIP;
        this.counters.emitted++;
        return value as B;
      }
    } else if (this.finished!.length !== 0) {
      this.counters.emitted++;
      return this.finished!.shift();
    }
    if (this.inputState === ENDED && this.occupied() === 0) return END;
    return PENDING;
  }

  private awaitInput(): void {
    if (this.inputState === WAITING) return;
    this.inputState = WAITING;
    this.input.ready().then(this.onInputReady, this.run.fail);
  }
}
