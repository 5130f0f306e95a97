import { AlertMonitor, type AlertEvent, type AlertMonitorOptions } from '../../core/alerts/index.js';
import { Channel, type ChannelState, type DropReason, type OverflowStrategy } from '../../core/channel/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { deriveSeed, Random } from './prng.js';
import { mm1kLoss } from './queueing.js';
import { FloatQueue, LatencyHistogram } from './measure.js';
import type { Phase } from './scenario.js';

/** One queue to simulate: the Channel's settings and the workload around it. */
export interface SimulatedQueue {
  /** Name in the result and the report. */
  name: string;
  /** Channel capacity (items buffered, not counting those in service). */
  capacity: number;
  strategy: OverflowStrategy;
  /** @default 0.8 */
  highWatermark?: number;
  /** @default 0.2 */
  lowWatermark?: number;
  /** @default 10 */
  sampleEvery?: number;
  /** Under `'block'`: the longest the producer waits for room before dropping the item (reason `'timeout'`). @default undefined (waits for ever) */
  maxBlockMs?: number;
  /** Poisson arrival rate in normal conditions, items/s. */
  arrivalRate: number;
  /** Mean service time per item and consumer, ms. */
  serviceTimeMs: number;
  /** @default 'exponential' */
  serviceDistribution?: 'exponential' | 'fixed';
  /** Consumers working in parallel, each holding one item while serving it. @default 1 */
  consumers?: number;
}

/** Alert settings applied to every simulated queue (the clock and components are the simulator's). */
export type SimulatedAlerts = Omit<AlertMonitorOptions, 'components' | 'clock' | 'log'>;

export interface QueueRunOptions {
  durationMs: number;
  seed: number;
  /** Points in each chart series. */
  samplePoints: number;
  alerts?: SimulatedAlerts;
  /** Called with the fraction of virtual time done, about every 65k events. */
  onProgress?: (fraction: number) => void;
}

export interface QueueTotals {
  /** Items produced by the arrival process. */
  arrivals: number;
  /** Items whose fate the Channel decided (`stats().offered`). Under `'block'`, items still waiting upstream are not yet offered. */
  offered: number;
  /** Items the consumers took out of the Channel. */
  delivered: number;
  /** Items whose service finished. */
  completed: number;
  /** Items lost: the Channel's drops plus producer timeouts under `'block'`. */
  dropped: number;
  droppedBy: Record<DropReason, number>;
  /** dropped / arrivals. */
  lossFraction: number;
  /** Items waiting upstream (in the blocked producer) at the end; only `'block'` has any. */
  upstreamBacklog: number;
  peakUpstreamBacklog: number;
  /** Total time the producer spent blocked, ms. */
  blockedMs: number;
  /** Times the Channel became pressured. */
  pressureEvents: number;
  /** Time-weighted mean of size / capacity. */
  meanUtilization: number;
  peakUtilization: number;
  /** Items in the Channel at the end. */
  bufferedAtEnd: number;
}

export interface LatencySummary {
  /** Wait from arrival to the start of service, ms (includes the wait upstream under `'block'`). */
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface QueueSeries {
  /** End of each sample interval, seconds. */
  t: number[];
  /** size / capacity at the end of the interval. */
  utilization: number[];
  /** Highest size / capacity within the interval. */
  peakUtilization: number[];
  /** Items/s over the interval. */
  arrivals: number[];
  delivered: number[];
  dropped: number[];
  /** Items waiting upstream at the end of the interval. */
  backlog: number[];
  /** State the Channel spent most of the interval in. */
  state: ChannelState[];
}

export interface QueueResult {
  queue: Required<Omit<SimulatedQueue, 'maxBlockMs'>> & { maxBlockMs: number | null };
  totals: QueueTotals;
  latency: LatencySummary;
  /** ms spent in each state. */
  timeInState: Record<ChannelState, number>;
  /**
   * M/M/1/K reference for the normal arrival rate: ρ = λ × service time / consumers, and
   * with one consumer the loss at K = capacity + 1 (the item in service counts towards K).
   * Exact for the 'normal' scenario with exponential service and a dropping strategy.
   */
  theory: { rho: number; systemCapacity: number; mm1kLoss: number | null };
  series: QueueSeries;
  alerts: AlertEvent[];
}

const STATES: readonly ChannelState[] = ['normal', 'elevated', 'critical', 'blocked', 'draining', 'closed'];

/**
 * Runs one queue through the phases in virtual time: Poisson arrivals offered
 * to a real {@link Channel} with `trySend()`, consumers taking items with
 * `tryReceive()` and holding each for its service time. A discrete-event loop:
 * time jumps from one event to the next, so an hour takes seconds.
 *
 * Under `'block'` the producer is modelled as one sequential sender: it holds
 * the item that did not fit (blocked, optionally up to `maxBlockMs`), and
 * arrivals meanwhile wait upstream of it, FIFO.
 */
export function runQueue(q: SimulatedQueue, phases: readonly Phase[], options: QueueRunOptions): QueueResult {
  const queue = {
    name: q.name,
    capacity: q.capacity,
    strategy: q.strategy,
    highWatermark: q.highWatermark ?? 0.8,
    lowWatermark: q.lowWatermark ?? Math.min(0.2, q.highWatermark ?? 0.8),
    sampleEvery: q.sampleEvery ?? 10,
    maxBlockMs: q.maxBlockMs ?? null,
    arrivalRate: q.arrivalRate,
    serviceTimeMs: q.serviceTimeMs,
    serviceDistribution: q.serviceDistribution ?? 'exponential',
    consumers: q.consumers ?? 1,
  };
  const duration = options.durationMs;
  const clock = new VirtualClock();
  const channel = new Channel<number>({
    name: queue.name,
    capacity: queue.capacity,
    overflow: queue.strategy,
    highWatermark: queue.highWatermark,
    lowWatermark: queue.lowWatermark,
    sampleEvery: queue.sampleEvery,
    clock,
  });
  const arrivalRng = new Random(deriveSeed(options.seed, `${queue.name}/arrivals`));
  const serviceRng = new Random(deriveSeed(options.seed, `${queue.name}/service`));
  const exponential = queue.serviceDistribution === 'exponential';
  const meanService = queue.serviceTimeMs;
  const blocking = queue.strategy === 'block';
  const maxBlockMs = queue.maxBlockMs ?? Infinity;
  const cap = queue.capacity;

  const busyUntil = new Float64Array(queue.consumers).fill(Infinity);
  const backlog = new FloatQueue();
  const latency = new LatencyHistogram();
  let t = 0;
  let phaseIndex = 0;
  let phase = phases[0]!;
  let nextPhaseAt = phases.length > 1 ? phase.to : Infinity;
  const arrivalAfter = (from: number): number => (phase.arrivalRate > 0 ? from + arrivalRng.exponential(1000 / phase.arrivalRate) : Infinity);
  let nextArrival = arrivalAfter(0);

  let arrivals = 0;
  let completed = 0;
  let timeouts = 0;
  let blockedMs = 0;
  let headSince = 0;
  let peakBacklog = 0;
  let sizeArea = 0;
  let peakSize = 0;
  let intervalPeak = 0;

  const stateTime = zeroStates();
  const intervalStateTime = zeroStates();
  let stateSince = 0;
  let currentState: ChannelState = channel.state;
  channel.onStateChange((state, previous) => {
    stateTime[previous] += t - stateSince;
    intervalStateTime[previous] += t - stateSince;
    stateSince = t;
    currentState = state;
  });

  const series: QueueSeries = { t: [], utilization: [], peakUtilization: [], arrivals: [], delivered: [], dropped: [], backlog: [], state: [] };
  const sampleMs = duration / options.samplePoints;
  let sampleIndex = 1;
  let nextSampleAt = sampleMs;
  let last = { arrivals: 0, delivered: 0, dropped: 0 };

  const alertEvents: AlertEvent[] = [];
  let monitor: AlertMonitor | undefined;
  if (options.alerts) {
    // The monitor sees what a real producer would report: its blocked time and timeouts included.
    const source = {
      stats: () => {
        const s = channel.stats();
        const blockedNow = backlog.length > 0 ? clock.now() - headSince : 0;
        return { ...s, blockedMs: blockedMs + blockedNow, longestBlockedMs: blockedNow, offered: s.offered + timeouts, dropped: s.dropped + timeouts };
      },
    };
    monitor = new AlertMonitor({ ...options.alerts, components: { [queue.name]: source }, clock, log: false });
    monitor.onAlert((e) => alertEvents.push(e));
    monitor.start();
  }

  const startService = (i: number): void => {
    const arrivedAt = channel.tryReceive();
    if (arrivedAt === undefined) return;
    latency.record(t - arrivedAt);
    busyUntil[i] = t + (exponential ? serviceRng.exponential(meanService) : meanService);
    if (backlog.length > 0) {
      // Room appeared: the blocked producer's item goes in, the next one becomes the blocked one.
      channel.trySend(backlog.shift());
      blockedMs += t - headSince;
      headSince = t;
    }
  };
  const startIdleConsumers = (): void => {
    for (let i = 0; i < busyUntil.length && channel.size > 0; i++) if (busyUntil[i] === Infinity) startService(i);
  };

  let events = 0;
  for (;;) {
    let server = -1;
    let nextDone = Infinity;
    for (let i = 0; i < busyUntil.length; i++) {
      if (busyUntil[i]! < nextDone) {
        nextDone = busyUntil[i]!;
        server = i;
      }
    }
    const timeoutAt = backlog.length > 0 ? headSince + maxBlockMs : Infinity;
    const next = Math.min(nextSampleAt, nextPhaseAt, nextDone, timeoutAt, nextArrival);
    sizeArea += channel.size * (next - t);
    t = next;
    clock.advance(t - clock.now());
    if ((++events & 0xffff) === 0) options.onProgress?.(t / duration);

    if (next === nextSampleAt) {
      const s = channel.stats();
      const dropped = s.dropped + timeouts;
      const seconds = sampleMs / 1000;
      intervalStateTime[currentState] += t - stateSince;
      stateTime[currentState] += t - stateSince;
      stateSince = t;
      series.t.push(round(t / 1000, 6));
      series.utilization.push(s.size / cap);
      series.peakUtilization.push(intervalPeak / cap);
      series.arrivals.push((arrivals - last.arrivals) / seconds);
      series.delivered.push((s.delivered - last.delivered) / seconds);
      series.dropped.push((dropped - last.dropped) / seconds);
      series.backlog.push(backlog.length);
      series.state.push(dominant(intervalStateTime));
      for (const state of STATES) intervalStateTime[state] = 0;
      last = { arrivals, delivered: s.delivered, dropped };
      intervalPeak = s.size;
      if (sampleIndex === options.samplePoints) break;
      sampleIndex++;
      // Computed from the index, not accumulated, so the last sample lands exactly on the duration.
      nextSampleAt = sampleIndex === options.samplePoints ? duration : (duration * sampleIndex) / options.samplePoints;
      continue;
    }
    if (next === nextPhaseAt) {
      phase = phases[++phaseIndex]!;
      nextPhaseAt = phaseIndex + 1 < phases.length ? phase.to : Infinity;
      nextArrival = arrivalAfter(t); // memoryless: redrawing at a rate change is exact
      if (phase.consumersUp) startIdleConsumers();
      continue;
    }
    if (next === nextDone) {
      completed++;
      busyUntil[server] = Infinity;
      if (phase.consumersUp) startService(server);
      continue;
    }
    if (next === timeoutAt) {
      backlog.shift();
      timeouts++;
      blockedMs += maxBlockMs;
      headSince = t;
      continue;
    }
    arrivals++;
    if (!blocking) {
      channel.trySend(t);
    } else if (backlog.length !== 0 || !channel.trySend(t)) {
      if (backlog.length === 0) headSince = t;
      backlog.push(t);
      if (backlog.length > peakBacklog) peakBacklog = backlog.length;
    }
    const size = channel.size;
    if (size > intervalPeak) intervalPeak = size;
    if (size > peakSize) peakSize = size;
    if (phase.consumersUp) startIdleConsumers();
    nextArrival = arrivalAfter(t);
  }
  monitor?.stop();
  options.onProgress?.(1);

  const s = channel.stats();
  if (backlog.length > 0) blockedMs += t - headSince;
  const droppedBy = { ...s.droppedBy, timeout: s.droppedBy.timeout + timeouts };
  const dropped = s.dropped + timeouts;
  const rho = (queue.arrivalRate * queue.serviceTimeMs) / 1000 / queue.consumers;
  return {
    queue,
    totals: {
      arrivals,
      offered: s.offered,
      delivered: s.delivered,
      completed,
      dropped,
      droppedBy,
      lossFraction: arrivals > 0 ? dropped / arrivals : 0,
      upstreamBacklog: backlog.length,
      peakUpstreamBacklog: peakBacklog,
      blockedMs,
      pressureEvents: s.pressureEvents,
      meanUtilization: duration > 0 ? sizeArea / duration / cap : 0,
      peakUtilization: peakSize / cap,
      bufferedAtEnd: s.size,
    },
    latency: latency.summary(),
    timeInState: stateTime,
    theory: { rho, systemCapacity: cap + queue.consumers, mm1kLoss: queue.consumers === 1 ? mm1kLoss(rho, cap + 1) : null },
    series,
    alerts: alertEvents,
  };
}

function zeroStates(): Record<ChannelState, number> {
  return { normal: 0, elevated: 0, critical: 0, blocked: 0, draining: 0, closed: 0 };
}

function dominant(times: Record<ChannelState, number>): ChannelState {
  let best: ChannelState = 'normal';
  for (const state of STATES) if (times[state] > times[best]) best = state;
  return best;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
