const GROW = 1.5;
const SHRINK = 0.75;

/**
 * The flush interval, adapted to the sink's latency: x1.5 after a call slower
 * than the target, x0.75 after one faster than half of it, clamped to [min, max].
 * The dead band between target / 2 and target keeps it from oscillating.
 */
export class AdaptiveInterval {
  ms: number;

  constructor(
    private minMs: number,
    private readonly maxMs: number,
    private readonly targetLatencyMs: number,
  ) {
    this.ms = minMs;
  }

  /** The shortest interval (the base the adaptation shrinks back to), in effect now: the adaptation restarts from it. */
  get base(): number {
    return this.minMs;
  }

  /** Sets a new base (validated by the caller: > 0 and <= max) and restarts the adaptation from it. */
  reset(minMs: number): void {
    this.minMs = minMs;
    this.ms = minMs;
  }

  observe(latencyMs: number): void {
    if (latencyMs > this.targetLatencyMs) this.ms = Math.min(this.maxMs, this.ms * GROW);
    else if (latencyMs < this.targetLatencyMs / 2) this.ms = Math.max(this.minMs, this.ms * SHRINK);
  }
}
