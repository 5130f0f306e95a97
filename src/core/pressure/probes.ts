import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { systemClock, type Clock, type TimerHandle } from '../clock/index.js';
import * as v from '../../internal/validate.js';
import type { Pressure } from './sources.js';

/** Snapshot of a probe. */
export interface ProbeStats {
  name: string;
  /** Last measurement in the probe's unit (ms, a 0..1 fraction, or bytes). */
  value: number;
  /** Last measurement divided by the threshold: what `read()` returns. */
  pressure: number;
  /** Measurements taken so far. */
  samples: number;
  closed: boolean;
}

/** A {@link Pressure} that measures the process itself. Call `close()` when done with it. */
export interface PressureProbe extends Pressure {
  readonly name: string;
  /** Stops sampling; `read()` keeps returning the last reading. Idempotent. */
  close(): void;
  stats(): ProbeStats;
}

/** Options every sampling probe takes. */
export interface ProbeOptions {
  /**
   * How often the probe measures. Readings in between return the last measurement,
   * so `read()` costs nothing. The timer is unref'd: it never keeps the process alive.
   * @default 500 for the event-loop probes, 1000 for the memory probes
   * @example eventLoopUtilization({ threshold: 0.9, sampleIntervalMs: 100 })
   */
  sampleIntervalMs?: number;
  /**
   * Time source for the sampling timer.
   * @default systemClock
   * @example heapUsed({ thresholdBytes: 1e9, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Name shown in stats.
   * @default the function's name, e.g. 'eventLoopDelay'
   * @example rss({ thresholdBytes: 2e9, name: 'worker-rss' })
   */
  name?: string;
}

interface Common {
  sampleIntervalMs: number;
  clock: Clock;
  name: string;
}

function common(o: Partial<ProbeOptions>, component: string, defaultIntervalMs: number): Common {
  const sampleIntervalMs = v.number('sampleIntervalMs', o.sampleIntervalMs, defaultIntervalMs, { min: 1 });
  return { sampleIntervalMs, clock: clockOption(o.clock), name: nameOption(o.name, component) };
}

function clockOption(value: unknown): Clock {
  const clock = (value ?? systemClock) as Clock;
  if (typeof clock !== 'object' || typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new v.InvalidOptionError('clock', value, 'a Clock with now(), schedule() and cancel()');
  }
  return clock;
}

function nameOption(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) throw new v.InvalidOptionError('name', value, 'a non-empty string');
  return value;
}

/** Measures on a fixed interval and serves the last measurement. */
class SampledProbe implements PressureProbe {
  readonly name: string;
  private value = 0;
  private samples = 0;
  private closed = false;
  private timer: TimerHandle | undefined;
  private readonly clock: Clock;
  private readonly intervalMs: number;

  constructor(
    c: Common,
    private readonly threshold: number,
    private readonly measure: () => number,
    measureNow: boolean,
    private readonly release?: () => void,
  ) {
    this.name = c.name;
    this.clock = c.clock;
    this.intervalMs = c.sampleIntervalMs;
    if (measureNow) this.sample();
    this.timer = this.clock.schedule(this.intervalMs, this.tick, { unref: true });
  }

  read(): number {
    return this.value / this.threshold;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
    this.release?.();
  }

  stats(): ProbeStats {
    return { name: this.name, value: this.value, pressure: this.read(), samples: this.samples, closed: this.closed };
  }

  private sample(): void {
    this.value = this.measure();
    this.samples++;
  }

  private readonly tick = (): void => {
    if (this.closed) return;
    this.sample();
    this.timer = this.clock.schedule(this.intervalMs, this.tick, { unref: true });
  };
}

/** Which summary of the event-loop delays {@link eventLoopDelay} reports. */
export type DelayStatistic = 'mean' | 'p50' | 'p90' | 'p99' | 'max';

export interface EventLoopDelayOptions extends ProbeOptions {
  /**
   * Delay, in milliseconds, that reads as pressure 1.
   * @default none (required)
   * @example eventLoopDelay({ thresholdMs: 100 })
   */
  thresholdMs: number;
  /**
   * Summary of the delays in the window that the reading uses.
   * @default 'p99'
   * @example eventLoopDelay({ thresholdMs: 50, statistic: 'mean' })
   */
  statistic?: DelayStatistic;
  /**
   * Sampling rate of Node's delay monitor, in whole milliseconds. Finer catches
   * shorter stalls; the reading is corrected for it.
   * @default 10
   * @example eventLoopDelay({ thresholdMs: 20, resolutionMs: 5 })
   */
  resolutionMs?: number;
}

const statistics: readonly DelayStatistic[] = ['mean', 'p50', 'p90', 'p99', 'max'];

/**
 * Event-loop delay from `perf_hooks.monitorEventLoopDelay`, divided by `thresholdMs`.
 *
 * When: every `sampleIntervalMs` (default 500) the probe takes the chosen
 * `statistic` (default p99) of the delays recorded over the last
 * **two** sample intervals, subtracts `resolutionMs` (the monitor records whole
 * timer periods, so an idle loop records about `resolutionMs`), and keeps it until
 * the next sample. Two staggered histograms are used because `reset()` discards
 * the delay in progress: with a single one, a stall starting right after a reset
 * would never be seen. Reads 0 until the first sample.
 *
 * @example
 * const lag = eventLoopDelay({ thresholdMs: 100 });
 * if (lag.read() > 1) console.warn('event loop p99 delay over 100 ms');
 * lag.close();
 */
export function eventLoopDelay(options: EventLoopDelayOptions): PressureProbe {
  const o = v.optionsObject(options, 'eventLoopDelay', {
    thresholdMs: true, statistic: true, resolutionMs: true, sampleIntervalMs: true, clock: true, name: true,
  });
  const thresholdMs = v.requiredNumber('thresholdMs', o.thresholdMs, { min: 0, minExclusive: true });
  const statistic = v.oneOf('statistic', o.statistic, statistics, 'p99');
  const resolutionMs = v.integer('resolutionMs', o.resolutionMs, 10, { min: 1 });
  const c = common(o, 'eventLoopDelay', 500);
  const histograms: [IntervalHistogram, IntervalHistogram] = [
    monitorEventLoopDelay({ resolution: resolutionMs }),
    monitorEventLoopDelay({ resolution: resolutionMs }),
  ];
  for (const h of histograms) h.enable();
  let turn = 0;
  const measure = (): number => {
    const h = histograms[++turn & 1]!;
    const ns = h.count === 0 ? 0 : summarize(h, statistic);
    h.reset();
    return Math.max(0, ns / 1e6 - resolutionMs);
  };
  const release = () => {
    for (const h of histograms) h.disable();
  };
  return new SampledProbe(c, thresholdMs, measure, false, release);
}

function summarize(h: IntervalHistogram, statistic: DelayStatistic): number {
  switch (statistic) {
    case 'mean':
      return h.mean;
    case 'max':
      return h.max;
    case 'p50':
      return h.percentile(50);
    case 'p90':
      return h.percentile(90);
    default:
      return h.percentile(99);
  }
}

export interface EventLoopUtilizationOptions extends ProbeOptions {
  /**
   * Utilization (0..1, the share of time the loop was busy) that reads as pressure 1.
   * @default none (required)
   * @example eventLoopUtilization({ threshold: 0.9 })
   */
  threshold: number;
}

/**
 * Event-loop utilization over the last sample interval (the delta of
 * `performance.eventLoopUtilization()`), divided by `threshold`.
 *
 * When: measured every `sampleIntervalMs` (default 500), read 0 until the first sample.
 * @example
 * const busy = eventLoopUtilization({ threshold: 0.9 });
 */
export function eventLoopUtilization(options: EventLoopUtilizationOptions): PressureProbe {
  const o = v.optionsObject(options, 'eventLoopUtilization', { threshold: true, sampleIntervalMs: true, clock: true, name: true });
  const threshold = v.requiredNumber('threshold', o.threshold, { min: 0, minExclusive: true, max: 1 });
  const c = common(o, 'eventLoopUtilization', 500);
  let last = performance.eventLoopUtilization();
  const measure = (): number => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    return utilization;
  };
  return new SampledProbe(c, threshold, measure, false);
}

export interface MemoryProbeOptions extends ProbeOptions {
  /**
   * Bytes that read as pressure 1.
   * @default none (required)
   * @example heapUsed({ thresholdBytes: 512 * 1024 * 1024 })
   */
  thresholdBytes: number;
}

/**
 * `process.memoryUsage().heapUsed` divided by `thresholdBytes`.
 *
 * When: measured once at creation, then every `sampleIntervalMs` (default 1000).
 * @example
 * const heap = heapUsed({ thresholdBytes: 1.5e9 });
 */
export function heapUsed(options: MemoryProbeOptions): PressureProbe {
  const o = v.optionsObject(options, 'heapUsed', { thresholdBytes: true, sampleIntervalMs: true, clock: true, name: true });
  const thresholdBytes = v.requiredNumber('thresholdBytes', o.thresholdBytes, { min: 0, minExclusive: true });
  return new SampledProbe(common(o, 'heapUsed', 1000), thresholdBytes, () => process.memoryUsage().heapUsed, true);
}

/**
 * Resident set size (`process.memoryUsage.rss()`) divided by `thresholdBytes`.
 *
 * When: measured once at creation, then every `sampleIntervalMs` (default 1000).
 * @example
 * const memory = rss({ thresholdBytes: 2e9 });
 */
export function rss(options: MemoryProbeOptions): PressureProbe {
  const o = v.optionsObject(options, 'rss', { thresholdBytes: true, sampleIntervalMs: true, clock: true, name: true });
  const thresholdBytes = v.requiredNumber('thresholdBytes', o.thresholdBytes, { min: 0, minExclusive: true });
  return new SampledProbe(common(o, 'rss', 1000), thresholdBytes, () => process.memoryUsage.rss(), true);
}
