// What the page script reads from a snapshot: the server's DashboardSnapshot
// (../snapshot.ts), restated here because the browser program cannot import
// server modules (they need Node's types). ../wire.test-d.ts, checked by the
// server's tsconfig, fails when the server's snapshot stops matching this.

export interface WireLatency {
  p50: number;
  p90: number;
  p99: number;
}

export interface WireLevelView {
  name: string;
  size: number;
  offered: number;
  delivered: number;
  dropped: number;
}

export interface WirePartitionView {
  name: string;
  inflight: number;
  limit: number;
  waiting: number;
  share: number;
}

export interface WireKeyDrops {
  key: string;
  dropped: number;
  error: number;
}

export interface WireComponentView {
  name: string;
  kind: string;
  description?: string;
  state?: string;
  breakerState?: string;
  size?: number;
  capacity?: number;
  utilization?: number;
  highWatermark?: number;
  lowWatermark?: number;
  inRate?: number;
  outRate?: number;
  dropped?: number;
  droppedBy?: Record<string, number>;
  dropRateBy?: Record<string, number>;
  blockedMsPerSec?: number;
  gauges?: Record<string, number>;
  timings?: Record<string, number>;
  fillRatePerSec?: number;
  timeToFullMs?: number;
  lag?: Record<string, number>;
  stale?: boolean;
  slope?: number;
  timeToThresholdMs?: number;
  latency?: WireLatency;
  levels?: WireLevelView[];
  partitions?: WirePartitionView[];
  keys?: number;
  topDroppers?: WireKeyDrops[];
  failureRate?: number;
  slowCallRate?: number;
  opens?: number;
  error?: string;
}

export interface WireFiringAlert {
  component: string;
  rule: string;
  value: number;
  threshold: number;
  unit?: string;
}

export interface WireAlertEvent extends WireFiringAlert {
  state: 'firing' | 'resolved';
}

export interface WireKnobEvent {
  t: number;
  component: string;
  setting: string;
  previous: number | string | null;
  value: number | string | null;
}

export interface WireSnapshot {
  seq: number;
  t: number;
  components: WireComponentView[];
  alerts: WireFiringAlert[];
  alertEvents: WireAlertEvent[];
  knobEvents?: WireKnobEvent[];
}
