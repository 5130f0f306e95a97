/**
 * How fast a buffer fills, from the readings its `stats()` calls take: no
 * timer and nothing on the hot path, so a channel nobody watches pays
 * nothing. Whoever reads stats (a Prometheus scrape, a dashboard tick, the
 * user) leaves a sample at most every {@link MIN_SPACING_MS}; the rate is
 * the change from the oldest sample of the last {@link WINDOW_MS} to now, or
 * from the newest sample when all are older (a scrape every 15 s still gets
 * a rate over its own interval). For a rate that ignores noise and reads
 * ahead, wrap `channelPressure(ch)` in `trend()`.
 */
export class FillRate {
  private readonly times = new Float64Array(SAMPLES);
  private readonly levels = new Float64Array(SAMPLES);
  /** Index of the next sample to write; samples are kept newest-last in ring order. */
  private next = 0;
  private count = 0;

  /** Items per second by which `level` grows (negative while it falls), then records the reading. */
  ratePerSec(now: number, level: number): number {
    const rate = this.rateAt(now, level);
    const newest = this.count === 0 ? -Infinity : this.times[(this.next + SAMPLES - 1) % SAMPLES]!;
    if (now - newest >= MIN_SPACING_MS) {
      this.times[this.next] = now;
      this.levels[this.next] = level;
      this.next = (this.next + 1) % SAMPLES;
      if (this.count < SAMPLES) this.count++;
    }
    return rate;
  }

  private rateAt(now: number, level: number): number {
    if (this.count === 0) return 0;
    // Oldest sample inside the window, else the newest one.
    let pick = (this.next + SAMPLES - 1) % SAMPLES;
    for (let k = this.count; k >= 1; k--) {
      const i = (this.next + SAMPLES - k) % SAMPLES;
      if (now - this.times[i]! <= WINDOW_MS) {
        pick = i;
        break;
      }
    }
    const elapsed = now - this.times[pick]!;
    return elapsed > 0 ? ((level - this.levels[pick]!) * 1000) / elapsed : 0;
  }
}

/** Milliseconds until `level` reaches `capacity` at `ratePerSec`: 0 when there, `Infinity` when not rising. */
export function timeToFullMs(level: number, capacity: number, ratePerSec: number): number {
  if (level >= capacity) return 0;
  return ratePerSec > 0 ? ((capacity - level) * 1000) / ratePerSec : Infinity;
}

const SAMPLES = 16;
/** Readings closer together than this add no sample (a busy reader would otherwise fill the ring in a moment). */
export const MIN_SPACING_MS = 250;
/** The rate looks back this far at most. */
export const WINDOW_MS = 10_000;
