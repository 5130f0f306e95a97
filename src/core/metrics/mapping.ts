import type { ChannelState } from '../channel/index.js';
import type { PublisherIteratorState } from '../reactive/index.js';
import { MetricFamilies as F, type MetricFamily } from './families.js';
import type { SampleWriter } from './samples.js';

// Components are recognised by the shape of their stats(), not by class, so
// anything with a stats() method (views, wrappers, components written later)
// reports through the same mapping. A field feeds at most one metric; the
// numeric fields no rule claims go to the generic `stat` family, so nothing a
// component counts is left out.

// Records (not arrays) so the compiler notices when a state is added.
const channelStates: Record<ChannelState, true> = {
  normal: true,
  elevated: true,
  critical: true,
  blocked: true,
  draining: true,
  closed: true,
};
const iteratorStates: Record<PublisherIteratorState, true> = {
  idle: true,
  active: true,
  completed: true,
  errored: true,
  cancelled: true,
};
const breakerStates = ['closed', 'open', 'half-open'] as const;
// readiness() in sluice/http (an adapter, so its type is not imported here).
const readinessStates = ['ready', 'not-ready'] as const;

/**
 * States seen per component and family. Series of a state set stay exported
 * (at 0) once their state has been seen, so a state change does not make a
 * series vanish.
 */
export type StateMemory = Map<string, string[]>;

type Stats = Readonly<Record<string, unknown>>;

class FieldReader {
  readonly used = new Set<string>();
  constructor(readonly stats: Stats) {}

  num(key: string): number | undefined {
    const value = this.stats[key];
    if (typeof value !== 'number') return undefined;
    this.used.add(key);
    return value;
  }

  bool(key: string): number | undefined {
    const value = this.stats[key];
    if (typeof value !== 'boolean') return undefined;
    this.used.add(key);
    return value ? 1 : 0;
  }

  str(key: string): string | undefined {
    const value = this.stats[key];
    if (typeof value !== 'string') return undefined;
    this.used.add(key);
    return value;
  }

  /** A number one object down, e.g. `breaker.opens`; claims only that child. */
  nested(key: string, child: string): number | undefined {
    const parent = this.stats[key];
    const value = typeof parent === 'object' && parent !== null ? (parent as Stats)[child] : undefined;
    if (typeof value !== 'number') return undefined;
    this.used.add(`${key}.${child}`);
    return value;
  }

  has(key: string, type: 'number' | 'boolean' | 'object' | 'string'): boolean {
    const value = this.stats[key];
    return typeof value === type && value !== null;
  }
}

/** Emits every sample one component's `stats()` snapshot maps to. */
export function mapComponentStats(component: string, stats: Stats, out: SampleWriter, memory: StateMemory): void {
  const r = new FieldReader(stats);
  const labels = { component };
  const emit = (family: MetricFamily, value: number | undefined) => {
    if (value !== undefined) out.scalar(family, labels, value);
  };

  // Buffer: a Channel (size/capacity) or a writer/iterator that buffers (buffered).
  const size = r.num('size') ?? r.num('buffered');
  const capacity = r.num('capacity');
  emit(F.bufferSize, size);
  emit(F.bufferCapacity, capacity);
  const utilization = r.num('utilization');
  emit(F.bufferUtilization, utilization ?? (size !== undefined && capacity !== undefined && capacity > 0 ? size / capacity : undefined));
  emit(F.bufferFillRate, r.num('fillRatePerSec'));
  emit(F.bufferTimeToFull, seconds(r.num('timeToFullMs')));
  // A byte budget (maxBytes): the bytes held and the budget, and the byte accounting beside the item counts
  // (a BatchWriter's writtenBytes / flushedBytes, as its written / flushed below).
  emit(F.bufferBytes, r.num('bytes'));
  emit(F.bufferMaxBytes, r.num('maxBytes'));
  emit(F.offeredBytes, r.num('offeredBytes') ?? r.num('writtenBytes'));
  emit(F.deliveredBytes, r.num('deliveredBytes') ?? r.num('flushedBytes'));
  emit(F.droppedBytes, r.num('droppedBytes'));
  // A BatchWriter's other byte counters and a DurableChannel's acceptedBytes follow from these and sluice_buffer_bytes; not exported (nor left to the catch-all).
  for (const field of ['bufferedBytes', 'inFlightBytes', 'deadLetteredBytes', 'acceptedBytes']) r.used.add(field);
  emit(F.pressured, r.bool('pressured') ?? r.bool('shedding'));

  // A CircuitBreaker reports its state at the top level: a breaker state set, not a component state.
  const standaloneBreaker = isCircuitBreaker(r);
  const state = standaloneBreaker ? undefined : r.str('state');
  if (state !== undefined) {
    const known = r.has('capacity', 'number') && r.has('pressured', 'boolean') ? Object.keys(channelStates)
      : r.has('prefetch', 'number') && r.has('lowTide', 'number') ? Object.keys(iteratorStates)
      : isReadiness(r) ? readinessStates
      : [];
    stateSet(F.state, component, state, known, out, memory);
  }
  const breaker = standaloneBreaker ? r.str('state') : breakerState(r);
  if (breaker !== undefined) stateSet(F.breakerState, component, breaker, breakerStates, out, memory);

  emit(F.waiting, r.num('waiting'));
  emit(F.inflight, r.num('inflight') ?? r.num('inFlight'));
  emit(F.concurrencyLimit, r.num('limit') ?? r.num('window'));

  if (r.has('starvationEvents', 'number')) {
    emit(F.creditsAvailable, r.num('available'));
    emit(F.creditStarvation, r.num('starvationEvents'));
    emit(F.creditStarvationSeconds, seconds(r.num('starvationMs')));
  } else if (r.has('ratePerSecond', 'number') && r.has('burst', 'number')) {
    emit(F.tokensAvailable, r.num('available'));
  }
  emit(F.rateLimit, r.num('ratePerSecond') ?? r.num('rate'));
  // A trend's `current` and readiness' `lastReading` are the reading now, as `pressure` is elsewhere.
  const trend = r.has('slope', 'number') && r.has('timeToThresholdMs', 'number');
  emit(F.pressure, r.num('pressure') ?? (trend ? r.num('current') : isReadiness(r) ? r.num('lastReading') : undefined));
  pressureLevels(component, r, out);
  if (trend) {
    emit(F.pressurePredicted, r.num('predicted'));
    emit(F.pressureSlope, r.num('slope'));
    emit(F.timeToThreshold, seconds(r.num('timeToThresholdMs')));
  }
  if (r.has('desiredRate', 'number') && r.has('throttleFactor', 'number')) {
    emit(F.throttleFactor, r.num('throttleFactor'));
    emit(F.desiredRate, r.num('desiredRate'));
  }
  lagSource(component, r, out);
  if (r.has('cores', 'number') && r.has('samples', 'number')) {
    // cpuUsage(): `cgroupLimit` is undefined without a quota, and then not exported.
    emit(F.cpuCores, r.num('cores'));
    emit(F.cpuQuota, r.num('cgroupLimit'));
  }
  if (isReadiness(r)) {
    // Counts here; RedisConcurrencyLimiter's `held` is a gauge, so not on the general list.
    for (const event of ['transitions', 'held']) {
      const count = r.num(event);
      if (count !== undefined) out.scalar(F.events, { component, event }, count);
    }
  }
  // Failures are strings or error objects (a broker error's numeric fields included): never samples.
  r.used.add('lastError');

  // A BatchWriter's `written` is a Channel's `offered` and its `flushed` the
  // `delivered`: the same accounting, so rate(delivered_total) is throughput for both.
  emit(F.offered, r.num('offered') ?? r.num('written'));
  emit(F.accepted, r.num('accepted'));
  emit(F.delivered, r.num('delivered') ?? r.num('flushed'));
  drops(component, r, out);
  emit(F.backpressureEvents, r.num('pressureEvents') ?? r.num('shedEvents'));
  emit(F.blockedSeconds, seconds(r.num('blockedMs') ?? r.num('waitedMs')));
  emit(F.acquired, r.num('acquired'));
  emit(F.rejected, r.num('rejected'));
  outcomes(component, r, out);

  emit(F.retried, r.num('retried'));
  emit(F.deadLettered, r.num('deadLettered'));
  emit(F.batches, r.num('batches'));
  emit(F.failedBatches, r.num('failedBatches'));
  emit(F.lastFlushLatency, seconds(r.num('lastFlushLatencyMs')));
  emit(F.flushInterval, seconds(r.num('flushIntervalMs')));
  emit(F.breakerOpens, standaloneBreaker ? r.num('opens') : r.nested('breaker', 'opens'));
  emit(F.longestBlocked, seconds(r.num('longestBlockedMs')));
  streamPolicy(component, r, out);
  parts(component, r, out, memory);

  generic(component, r, out);
}

/**
 * A `policyRegistry()`: stats() is a record of StreamPolicy stats by policy
 * name. Each policy reports as component `<component>.<policy>`.
 * @returns true when `stats` had that shape (and was mapped).
 */
export function mapPolicyRegistry(component: string, stats: Stats, out: SampleWriter, memory: StateMemory): boolean {
  const entries = Object.entries(stats);
  if (entries.length === 0) return false;
  for (const [, value] of entries) {
    if (typeof value !== 'object' || value === null || typeof (value as Stats).totalStreams !== 'number' || typeof (value as Stats).strategy !== 'string') return false;
  }
  for (const [name, value] of entries) mapComponentStats(`${component}.${name}`, value as Stats, out, memory);
  return true;
}

/** StreamPolicy and its governed streams: the seed's `mediator_stream_*` fields under Sluice names. */
function streamPolicy(component: string, r: FieldReader, out: SampleWriter): void {
  if (!r.has('strategy', 'string') || !r.has('droppedItems', 'number')) return;
  const labels = { component };
  const emit = (family: MetricFamily, value: number | undefined) => {
    if (value !== undefined) out.scalar(family, labels, value);
  };
  r.str('strategy');
  emit(F.bufferCapacity, r.num('bufferCapacity') ?? r.num('bufferSize'));
  emit(F.bufferUtilization, r.num('bufferUsage'));
  emit(F.backpressureEvents, r.num('backpressureEvents'));
  emit(F.offered, r.num('received'));
  // Two reasons: a full buffer under 'drop-newest', and items thrown away when a stream was cancelled or failed.
  out.scalar(F.dropped, { component, reason: 'overflow' }, r.num('droppedItems')!);
  const discarded = r.num('discarded');
  if (discarded !== undefined) out.scalar(F.dropped, { component, reason: 'discarded' }, discarded);
  emit(F.streamsActive, r.num('activeStreams'));
  emit(F.streams, r.num('totalStreams'));
  const ended = r.stats.ended;
  if (typeof ended === 'object' && ended !== null) {
    r.used.add('ended');
    for (const [state, count] of Object.entries(ended as Stats)) {
      if (typeof count === 'number') out.scalar(F.streamsEnded, { component, state }, count);
    }
  }
}

/**
 * The lag sources of sluice/redis, sluice/amqp and sluice/nats: their figures
 * by meaning, so one query covers every broker. `backlog` is the sum of the
 * `lag` series and `threshold` a setting (catch-all).
 */
function lagSource(component: string, r: FieldReader, out: SampleWriter): void {
  if (!r.has('backlog', 'number') || !r.has('pollErrors', 'number') || !r.has('stale', 'boolean')) return;
  r.used.add('backlog');
  const lag = (kind: 'undelivered' | 'unacked', value: number | undefined) => {
    if (value !== undefined) out.scalar(F.lag, { component, kind }, value);
  };
  // streamLag: undelivered / pending (the PEL); jetStreamLag: numPending / numAckPending; queueDepth: ready.
  lag('undelivered', r.num('undelivered') ?? r.num('numPending') ?? r.num('ready'));
  lag('unacked', r.num('pending') ?? r.num('numAckPending'));
  const consumers = r.num('consumers');
  if (consumers !== undefined) out.scalar(F.consumers, { component }, consumers);
  out.scalar(F.stale, { component }, r.bool('stale')!);
}

/** readiness() of sluice/http. */
function isReadiness(r: FieldReader): boolean {
  return r.has('stateForMs', 'number') && r.has('resumeBelow', 'number') && r.has('transitions', 'number');
}

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

function stateSet(
  family: MetricFamily,
  component: string,
  current: string,
  known: readonly string[],
  out: SampleWriter,
  memory: StateMemory,
): void {
  const key = `${family.name}\u0000${component}`;
  let states = memory.get(key);
  if (!states) memory.set(key, (states = [...known]));
  if (!states.includes(current)) states.push(current);
  for (const state of states) out.scalar(family, { component, state }, state === current ? 1 : 0);
}

/** A core `CircuitBreaker`'s stats: its state and rates at the top level. */
function isCircuitBreaker(r: FieldReader): boolean {
  return r.has('state', 'string') && r.has('failureRate', 'number') && r.has('slowCallRate', 'number') && r.has('opens', 'number');
}

/** A circuit breaker's state, from `breakerState: string` or `breaker: string | { state: string }`. */
function breakerState(r: FieldReader): string | undefined {
  const direct = r.str('breakerState') ?? r.str('breaker');
  if (direct !== undefined) return direct;
  const nested = r.stats.breaker;
  if (typeof nested === 'object' && nested !== null && typeof (nested as Stats).state === 'string') {
    // Left unclaimed: the breaker's numbers (failures, ...) still go out as `breaker.<field>`.
    return (nested as Stats).state as string;
  }
  return undefined;
}

/**
 * A component made of parts that each keep their own accounting: a
 * PriorityChannel's `levels` and a ConcurrencyLimiter's `partitions`. Each
 * part reports as component `<component>.<part>`, mapped like a component of
 * its own (buffer size, offered, delivered and drops by reason for a level;
 * limit, inflight, waiting, acquired and rejected for a partition), so the
 * per-part accounting shows under the same families as the whole.
 */
function parts(component: string, r: FieldReader, out: SampleWriter, memory: StateMemory): void {
  for (const key of ['levels', 'partitions']) {
    if (r.used.has(key)) continue; // pressureLevels() claimed a PressureLevels' levels
    const group = r.stats[key];
    if (typeof group !== 'object' || group === null || Array.isArray(group)) continue;
    const entries = Object.entries(group as Stats);
    if (entries.length === 0 || !entries.every(([, part]) => typeof part === 'object' && part !== null && !Array.isArray(part))) continue;
    r.used.add(key);
    for (const [name, part] of entries) mapComponentStats(`${component}.${name}`, part as Stats, out, memory);
  }
  // A partitioned limiter's calls without a partition: one more part.
  const rest = r.stats.unpartitioned;
  if (r.used.has('partitions') && typeof rest === 'object' && rest !== null && !Array.isArray(rest)) {
    r.used.add('unpartitioned');
    mapComponentStats(`${component}.unpartitioned`, rest as Stats, out, memory);
  }
}

function pressureLevels(component: string, r: FieldReader, out: SampleWriter): void {
  const levels = r.stats.levels;
  if (typeof levels !== 'object' || levels === null) return;
  let any = false;
  for (const [level, value] of Object.entries(levels as Stats)) {
    const pressure = typeof value === 'object' && value !== null ? (value as Stats).pressure : undefined;
    if (typeof pressure !== 'number') continue;
    out.scalar(F.pressureLevel, { component, level }, pressure);
    any = true;
  }
  if (any) r.used.add('levels');
}

function drops(component: string, r: FieldReader, out: SampleWriter): void {
  const byReason = r.stats.droppedBy;
  if (typeof byReason === 'object' && byReason !== null) {
    r.used.add('droppedBy');
    r.used.add('dropped'); // the sum of droppedBy
    for (const [reason, count] of Object.entries(byReason as Stats)) {
      if (typeof count === 'number') out.scalar(F.dropped, { component, reason }, count);
    }
    return;
  }
  const dropped = r.num('dropped');
  if (dropped !== undefined) out.scalar(F.dropped, { component, reason: 'unspecified' }, dropped);
  // loadShed: a shed request is one dropped at the door.
  if (r.has('served', 'number')) {
    const shed = r.num('shed');
    if (shed !== undefined) out.scalar(F.dropped, { component, reason: 'shed' }, shed);
  }
}

function outcomes(component: string, r: FieldReader, out: SampleWriter): void {
  // ConcurrencyLimiter: permits released with success() / dropped() / ignore().
  if (r.has('successes', 'number') && r.has('drops', 'number')) {
    out.scalar(F.completed, { component, outcome: 'success' }, r.num('successes')!);
    out.scalar(F.completed, { component, outcome: 'dropped' }, r.num('drops')!);
    const ignored = r.num('ignored');
    if (ignored !== undefined) out.scalar(F.completed, { component, outcome: 'ignored' }, ignored);
  } else if (r.has('acks', 'number') && r.has('losses', 'number')) {
    // CongestionWindow: onAck() / onLoss(), the same two outcomes under other names.
    out.scalar(F.completed, { component, outcome: 'success' }, r.num('acks')!);
    out.scalar(F.completed, { component, outcome: 'dropped' }, r.num('losses')!);
  }
}

// Fields that only grow: counts of events. Each goes to `events_total{event}`
// (a Prometheus counter) unless a family of its own claimed it first.
const counterFields = new Set([
  // channels, stores, writers
  'recovered', 'redelivered', 'acked', 'nacked', 'commits', 'ackCommits', 'leases', 'appended', 'appendCalls', 'leased', 'released',
  'spilled', 'refilled', 'spills', 'refills',
  // limiters and rates
  'granted', 'discarded', 'aborted', 'limitChanges', 'adjustmentsUp', 'adjustmentsDown', 'acquiredLocally', 'refused', 'refunded', 'prefetched',
  // probes, pollers, load shedding
  'samples', 'polls', 'pollErrors', 'checks', 'overChecks', 'served', 'readErrors', 'unknownLevels',
  // circuit breakers
  'calls', 'successes', 'failures', 'slowCalls', 'ignored',
  // governor
  'ticks', 'adjustments', 'increases', 'decreases',
  // reactive
  'subscriptions', 'requested', 'emitted', 'completed', 'errored', 'cancelled', 'droppedErrors', 'requestCalls', 'received',
  // pipeline stages
  'runs', 'items', 'timedOut',
  // monitoring: alerts, dashboard, metrics
  'evaluations', 'fired', 'resolved', 'snapshots', 'sent', 'skipped', 'requests', 'notFound', 'evicted', 'stalled',
  'collections', 'reports', 'failedReports', 'observations',
  // adapters
  'sourceErrors', 'declined', 'decidedLocally', 'changesReceived', 'fetched', 'claimed', 'processed', 'failed', 'ackFailures', 'reads',
  'degradations', 'recoveries', 'timeouts', 'errors', 'probes', 'published', 'confirmed', 'slotWaits', 'drainWaits',
  'statements', 'rowsWritten', 'rowsSkipped', 'rowsFailed', 'isolations', 'batchesFailed',
  'requeued', 'returned', 'terminated', 'heartbeats', 'fetches', 'fetchErrors', 'pauses', 'resumes', 'qosChanges', 'settleErrors',
  'lost', 'extended', 'attempts', 'releasedLater',
]);

// Time totals in ms that only grow: `duration_seconds_total{stat}`.
const timeCounterFields = new Set(['degradedMs', 'downMs', 'waitedMs', 'blockedMs', 'starvationMs']);

// Durations in ms that are current values or settings: `duration_seconds{stat}`, stat without "Ms".
const msGauge = /Ms$/;
const msPerItem = new Set(['averageMsPerItem']);

// Process-relative timestamps (clock.now() of an event): meaningless outside
// the process and on a virtual clock, so not exported.
const timestamp = /At$/;

/** Unclaimed numbers and booleans, and those one object level down as `parent.child`. */
function generic(component: string, r: FieldReader, out: SampleWriter): void {
  for (const [key, value] of Object.entries(r.stats)) {
    if (r.used.has(key)) continue;
    if (typeof value === 'number' || typeof value === 'boolean') {
      leftover(component, key, key, value, out);
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [child, nested] of Object.entries(value as Stats)) {
        if ((typeof nested === 'number' || typeof nested === 'boolean') && !r.used.has(`${key}.${child}`)) {
          leftover(component, child, `${key}.${child}`, nested, out);
        }
      }
    }
  }
}

/** One unclaimed field: a counter, a time, a timestamp (dropped), or the catch-all. */
function leftover(component: string, field: string, label: string, value: number | boolean, out: SampleWriter): void {
  if (typeof value === 'number') {
    if (timestamp.test(field)) return;
    if (counterFields.has(field)) return out.scalar(F.events, { component, event: label }, value);
    if (timeCounterFields.has(field)) return out.scalar(F.durationTotal, { component, stat: label.slice(0, -2) }, value / 1000);
    if (msPerItem.has(field)) return out.scalar(F.duration, { component, stat: label.replace('Ms', '') }, value / 1000);
    if (msGauge.test(field)) return out.scalar(F.duration, { component, stat: label.slice(0, -2) }, value / 1000);
  }
  out.scalar(F.stat, { component, stat: label }, Number(value));
}
