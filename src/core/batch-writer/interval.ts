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
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly targetLatencyMs: number,
  ) {
    this.ms = minMs;
  }

  observe(latencyMs: number): void {
    if (latencyMs > this.targetLatencyMs) this.ms = Math.min(this.maxMs, this.ms * GROW);
    else if (latencyMs < this.targetLatencyMs / 2) this.ms = Math.max(this.minMs, this.ms * SHRINK);
  }
}
