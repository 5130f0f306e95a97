/**
 * Every size threshold a channel derives from its capacity and its two
 * watermark fractions, computed once, here. Signals (state and pressure
 * hysteresis), the `'sample'` policy and a spill tier all read these numbers,
 * so they cannot drift apart by rounding one of them differently.
 *
 * Sizes are integers while `capacity × fraction` may not be: `size >= x`
 * first holds at `ceil(x)`, and `size <= x` last holds at `floor(x)`.
 */
export interface Watermarks {
  /** `highWatermark × capacity`: pressure turns on at a size at or above it. */
  readonly highLimit: number;
  /** `lowWatermark × capacity`: pressure turns off at a size at or below it. */
  readonly lowLimit: number;
  /** The first size at or above `highLimit`, at most `capacity`: where `'critical'`, sampling and spilling start. */
  readonly highStart: number;
  /** The first size at or above `lowLimit`: where `'elevated'` starts. */
  readonly lowStart: number;
  /** The first size above `lowLimit`: a pressured channel stays pressured from here up. */
  readonly pressureOffBelow: number;
  /** The last size at or below `lowLimit`: a spill refills memory from here down. */
  readonly lowEnd: number;
}

export function watermarks(capacity: number, highWatermark: number, lowWatermark: number): Watermarks {
  const highLimit = highWatermark * capacity;
  const lowLimit = lowWatermark * capacity;
  const lowEnd = Math.floor(lowLimit);
  return {
    highLimit,
    lowLimit,
    highStart: Math.min(capacity, Math.ceil(highLimit)),
    lowStart: Math.ceil(lowLimit),
    pressureOffBelow: lowEnd + 1,
    lowEnd,
  };
}
