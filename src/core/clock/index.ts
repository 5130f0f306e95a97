/**
 * Time source for every time-dependent part of Sluice.
 *
 * Components never call `setTimeout` or `Date.now()` directly; they ask their
 * clock. Production code uses {@link systemClock}; tests and simulations pass a
 * `VirtualClock` from `sluice/testing` and move time by hand.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale. Only differences are meaningful. */
  now(): number;
  /**
   * Runs `callback` once, `delayMs` from now. Returns a handle for {@link Clock.cancel}.
   * `options.unref` asks the clock not to keep the process alive for this timer
   * (background sampling); user-visible waits leave it off so their promises settle.
   */
  schedule(delayMs: number, callback: () => void, options?: { unref?: boolean }): TimerHandle;
  /** Cancels a scheduled callback. Cancelling twice, or after it ran, is a no-op. */
  cancel(handle: TimerHandle): void;
}

/** Opaque handle returned by {@link Clock.schedule}. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/** The real clock: `performance.now()` and Node timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  schedule(delayMs, callback, options) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    if (options?.unref) timer.unref();
    return timer;
  },
  cancel(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
