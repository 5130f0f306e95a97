import { InvalidArgumentError } from '../core/errors/index.js';
import { describe } from './describe.js';

/**
 * A component's list of event listeners (the `onReconfigure(listener)` family).
 * `emit` runs the listeners registered when it starts, in order, so one added
 * or removed by a listener takes effect from the next emit; a listener that
 * throws does not stop the others: its error is rethrown from a microtask, so
 * it surfaces as an uncaught error instead of unwinding the component's setter
 * after its change is already in effect.
 */
export class Listeners<E> {
  private list: ((event: E) => void)[] | undefined;

  /**
   * Registers `listener`; returns the function that removes this registration
   * (calling it again does nothing, even if the same function was added
   * twice). `method` names the public call in the error for a non-function.
   * @throws InvalidArgumentError unless `listener` is a function.
   */
  add(listener: (event: E) => void, method = 'onReconfigure'): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`${method}(listener): listener must be a function, got ${describe(listener)}`);
    const list = (this.list ??= []);
    list.push(listener);
    let removed = false;
    return () => {
      // Idempotent: a second call must not remove another registration of the same function.
      if (removed) return;
      removed = true;
      const i = list.indexOf(listener);
      if (i !== -1) list.splice(i, 1);
    };
  }

  /** True when at least one listener is registered (lets a caller skip building events). */
  get active(): boolean {
    return this.list !== undefined && this.list.length !== 0;
  }

  /** Hands each event, in order, to every listener registered now. */
  emit(...events: E[]): void {
    if (this.list === undefined || this.list.length === 0) return;
    const listeners = [...this.list];
    for (const event of events) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
  }
}
