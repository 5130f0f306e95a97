import { z } from 'zod';
import { overflowStrategies } from '../../core/channel/index.js';
import { limitAlgorithms } from '../../core/concurrency-limiter/index.js';
import { fairOverflows } from '../../core/fair-channel/index.js';
import { priorityOverflows } from '../../core/priority-channel/index.js';
import {
  DURATION_HINT,
  DURATION_PATTERN,
  FRACTION_HINT,
  FRACTION_PATTERN,
  parseDuration,
  parseFraction,
  parseRate,
  parseSize,
  RATE_HINT,
  RATE_PATTERN,
  SIZE_HINT,
  SIZE_PATTERN,
  SIZE_UNITS_HINT,
} from '../../internal/config-units.js';
import type { LagThreshold } from '../../core/alerts/index.js';
import type { BreakerConfig, BulkheadConfig, FairnessConfig, FlowControlConfig, PrioritiesConfig, QueueConfig, QueueStrategy, WorkloadConfig, WriterConfig } from './types.js';

// Every schema carries the text of what it allows as its error, so a failure
// reads "<path>: <value> is not <allowed>" whatever check failed (see errors.ts).
// Keys follow the seed template (snake_case); values are normalised on the way out.

const e = (allowed: string) => ({ error: allowed });

function integer(allowed: string, min: number, max?: number) {
  const base = z.number(e(allowed)).int(e(allowed)).min(min, e(allowed));
  return max === undefined ? base : base.max(max, e(allowed));
}

function number(allowed: string, b: { gt?: number; min?: number; lt?: number; max?: number }) {
  let s = z.number(e(allowed));
  if (b.gt !== undefined) s = s.gt(b.gt, e(allowed));
  if (b.min !== undefined) s = s.min(b.min, e(allowed));
  if (b.lt !== undefined) s = s.lt(b.lt, e(allowed));
  if (b.max !== undefined) s = s.max(b.max, e(allowed));
  return s;
}

/** A duration string or a number of ms; `positive` excludes 0. */
function duration(positive: boolean) {
  const allowed = `${DURATION_HINT}, or a number of milliseconds${positive ? ' (> 0)' : ''}`;
  return z
    .union([positive ? z.number(e(allowed)).gt(0, e(allowed)) : z.number(e(allowed)).min(0, e(allowed)), z.string(e(allowed)).regex(new RegExp(DURATION_PATTERN), e(allowed))], e(allowed))
    .transform((value, ctx) => {
      const ms = typeof value === 'number' ? value : parseDuration(value);
      if (ms === undefined || (positive && ms <= 0)) {
        ctx.addIssue({ code: 'custom', message: allowed, input: value });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description: allowed });
}

function rate(allowed = `${RATE_HINT}, or a number per second (> 0)`) {
  return z
    .union([z.number(e(allowed)).gt(0, e(allowed)), z.string(e(allowed)).regex(new RegExp(RATE_PATTERN), e(allowed))], e(allowed))
    .transform((value, ctx) => {
      const perSecond = typeof value === 'number' ? value : parseRate(value);
      if (perSecond === undefined || !(perSecond > 0)) {
        ctx.addIssue({ code: 'custom', message: allowed, input: value });
        return z.NEVER;
      }
      return perSecond;
    })
    .meta({ description: allowed });
}

const BYTES_TEXT = `${SIZE_HINT} (${SIZE_UNITS_HINT}), or a whole number of bytes (>= 1)`;

/**
 * A byte budget: a size string or a number of bytes, resolved to whole bytes
 * (a fraction of a byte, as in 1.3KiB, is dropped: the budget never grows past
 * what was written) and at least 1, as `maxBytes` requires.
 */
function bytes(description: string) {
  const allowed = BYTES_TEXT;
  return z
    .union([z.number(e(allowed)).int(e(allowed)).min(1, e(allowed)), z.string(e(allowed)).regex(new RegExp(SIZE_PATTERN), e(allowed))], e(allowed))
    .transform((value, ctx) => {
      const n = typeof value === 'number' ? value : parseSize(value);
      const whole = n === undefined ? undefined : Math.floor(n);
      if (whole === undefined || !(whole >= 1) || !Number.isSafeInteger(whole)) {
        ctx.addIssue({ code: 'custom', message: allowed, input: value });
        return z.NEVER;
      }
      return whole;
    })
    .meta({ description: `${description} Accepts ${allowed}.` });
}

/** A fraction as a number or a percentage string, within (lo, hi]. */
function fraction(allowed: string, lo: number, loInclusive: boolean) {
  const text = `${allowed} (${FRACTION_HINT})`;
  return z
    .union([z.number(e(text)).min(0, e(text)).max(1, e(text)), z.string(e(text)).regex(new RegExp(FRACTION_PATTERN), e(text))], e(text))
    .transform((value, ctx) => {
      const f = typeof value === 'number' ? value : parseFraction(value);
      if (f === undefined || (loInclusive ? f < lo : f <= lo)) {
        ctx.addIssue({ code: 'custom', message: text, input: value });
        return z.NEVER;
      }
      return f;
    })
    .meta({ description: text });
}

/** One of `values`, also accepting underscores for hyphens (the seed writes drop_oldest). */
function spelledEnum<const T extends string>(values: readonly T[], allowedText?: string) {
  const allowed = allowedText ?? `one of ${values.join(', ')}`;
  const spellings = [...new Set(values.flatMap((s) => [s, s.replace(/-/g, '_')]))] as [string, ...string[]];
  return z
    .enum(spellings, e(allowed))
    .transform((s) => s.replace(/_/g, '-') as T)
    .meta({ description: `${allowed} (underscores accepted for hyphens)` });
}

function section<S extends z.core.$ZodLooseShape>(shape: S, description: string) {
  const keys = Object.keys(shape).join(', ');
  return z
    .strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? `a known key (allowed: ${keys})` : 'an object') })
    .meta({ description });
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const NAME_TEXT = 'a valid name (letters, digits, _, . and -, starting with a letter or _)';
const names = <V extends z.ZodType>(value: V, description: string) =>
  z
    .record(z.string().regex(NAME_PATTERN), value, { error: (issue) => (issue.code === 'invalid_key' ? NAME_TEXT : 'an object of named entries') })
    .meta({ description });

const capacityText = 'an integer >= 1';

const LEVELS_TEXT = 'a list of 1 to 30 distinct level names, highest first, e.g. [critical, normal, batch]';
const prioritiesSchema = section(
  {
    levels: z
      .array(z.string(e('a level name (a non-empty string)')).min(1, e('a level name (a non-empty string)')), e(LEVELS_TEXT))
      .min(1, e(LEVELS_TEXT))
      .max(30, e(LEVELS_TEXT))
      .meta({ description: `The priority levels, highest first: ${LEVELS_TEXT}. A producer picks one with send(item, { priority }).` }),
    weights: z
      .record(z.string(), number('a number > 0', { gt: 0 }), e('an object of a weight (> 0) per level'))
      .optional()
      .meta({ description: 'Weighted sharing: receivers take from the non-empty levels in proportion to these weights, so the lowest is slowed, not starved. Every level needs one. Default: strict priority.' }),
    reserve: integer('an integer >= 0', 0).optional().meta({ description: 'Slots kept for the top level: the other levels are full at capacity - reserve (default 0).' }),
    default: z.string(e('a level name')).optional().meta({ description: 'The level of an item sent without a priority (default: the last level).' }),
  },
  'Priority levels: the queue is built as a PriorityChannel. Its strategies: block, drop_newest, reject, shed_lowest (the lowest level\'s oldest item is evicted first).',
).superRefine((p, ctx) => {
  const seen = new Set<string>();
  p.levels.forEach((level, i) => {
    if (seen.has(level)) ctx.addIssue({ code: 'custom', path: ['levels', i], input: level, message: 'a level not listed before (levels are distinct)' });
    seen.add(level);
  });
  const allowed = `one of the levels (${p.levels.join(', ')})`;
  if (p.default !== undefined && !seen.has(p.default)) ctx.addIssue({ code: 'custom', path: ['default'], input: p.default, message: allowed });
  if (p.weights !== undefined) {
    for (const key of Object.keys(p.weights)) if (!seen.has(key)) ctx.addIssue({ code: 'custom', path: ['weights', key], input: key, message: allowed });
    for (const level of p.levels) {
      if (p.weights[level] === undefined) ctx.addIssue({ code: 'custom', path: ['weights', level], input: undefined, message: 'a number > 0 (every level needs a weight)' });
    }
  }
});

const fairnessSchema = section(
  {
    per_key_capacity: integer('an integer >= 1', 1).meta({ description: 'Most items one key may have buffered (required).' }),
    quantum: number('a number > 0', { gt: 0 }).optional().meta({ description: 'Deficit round robin: what a key may take per turn (default 1 item).' }),
    top_keys: integer('an integer >= 1', 1).optional().meta({ description: 'How many of the keys that dropped the most stats() tracks (default 10).' }),
  },
  "Per-key fairness: the queue is built as a FairChannel. Items are keyed by the send option { key } (a key function cannot be written in a file). Its strategies: drop_newest (the default), reject, block.",
);

const queueStrategies = [...new Set<QueueStrategy>([...overflowStrategies, ...priorityOverflows, ...fairOverflows])];
// An unknown strategy is told a plain Channel's list (most queues are one); a known strategy the queue's kind lacks gets that kind's list.
const STRATEGY_TEXT = `one of ${overflowStrategies.join(', ')}`;
const spelled = (list: readonly string[]) => list.map((s) => s.replace(/-/g, '_')).join(', ');

export const queueSchema = section(
  {
    capacity: integer(capacityText, 1).optional().meta({ description: 'Most items buffered (required, or its seed name size).' }),
    size: integer(capacityText, 1).optional().meta({ description: 'Seed name for capacity.' }),
    strategy: spelledEnum(queueStrategies, STRATEGY_TEXT).optional(),
    overflow: spelledEnum(queueStrategies, STRATEGY_TEXT).optional().meta({ description: 'Sluice name for strategy.' }),
    high_watermark: fraction('a fraction between 0 and 1', 0, true).optional(),
    low_watermark: fraction('a fraction between 0 and 1', 0, true).optional(),
    sample_every: integer('an integer >= 1', 1).optional(),
    timeout: duration(true).optional(),
    max_block: duration(true).optional(),
    max_bytes: bytes(
      "Byte budget (Channel maxBytes): an item is admitted only while both capacity and max_bytes hold; one larger than max_bytes is dropped as too-large. Items are sized by the default sizeOf (UTF-8 bytes of a string, byteLength of a Buffer or typed array); other items need a Channel built in code with sizeOf. Plain queues only. Reloadable (setMaxBytes), not added or removed at runtime. sluice simulate models items, not their sizes: it ignores max_bytes.",
    ).optional(),
    priorities: prioritiesSchema.optional(),
    fairness: fairnessSchema.optional(),
  },
  'A Channel (a PriorityChannel with priorities, a FairChannel with fairness). Seed keys: size, strategy, timeout, high_watermark, low_watermark.',
)
  .superRefine((q, ctx) => {
    const both = (a: keyof typeof q, b: keyof typeof q, why: string) => {
      if (q[a] !== undefined && q[b] !== undefined) ctx.addIssue({ code: 'custom', path: [b], input: q[b], message: `allowed together with ${String(a)} (${why})` });
    };
    both('capacity', 'size', 'size is the seed name for capacity');
    both('strategy', 'overflow', 'overflow is another name for strategy');
    both('timeout', 'max_block', 'max_block is another name for timeout');
    both('priorities', 'fairness', 'a queue is a PriorityChannel or a FairChannel, not both');
    if (q.max_bytes !== undefined && (q.priorities || q.fairness)) {
      ctx.addIssue({ code: 'custom', path: ['max_bytes'], input: q.max_bytes, message: `allowed with ${q.priorities ? 'priorities' : 'fairness'} (a ${q.priorities ? 'PriorityChannel' : 'FairChannel'} counts items only; max_bytes is for plain queues)` });
    }
    if (q.capacity === undefined && q.size === undefined) ctx.addIssue({ code: 'custom', path: ['capacity'], input: undefined, message: `${capacityText} (key capacity, or the seed's size)` });
    const capacity = q.capacity ?? q.size;
    const high = q.high_watermark ?? 0.8;
    if (q.low_watermark !== undefined && q.low_watermark > high) {
      ctx.addIssue({ code: 'custom', path: ['low_watermark'], input: q.low_watermark, message: `a fraction <= high_watermark (${high})` });
    }
    const [kind, strategies]: [string, readonly string[]] = q.priorities ? ['priorities', priorityOverflows] : q.fairness ? ['fairness', fairOverflows] : ['', overflowStrategies];
    const strategyKey = q.strategy !== undefined ? 'strategy' : 'overflow';
    const given = q.strategy ?? q.overflow;
    if (given !== undefined && !strategies.includes(given)) {
      ctx.addIssue({ code: 'custom', path: [strategyKey], input: given, message: `one of ${spelled(strategies)}${kind ? ` (with ${kind})` : ' (shed_lowest needs priorities)'}` });
    }
    const strategy = given ?? (q.fairness ? 'drop-newest' : 'block');
    const timeoutKey = q.timeout !== undefined ? 'timeout' : 'max_block';
    if ((q.timeout ?? q.max_block) !== undefined && strategy !== 'block') {
      ctx.addIssue({ code: 'custom', path: [timeoutKey], input: q[timeoutKey], message: `allowed with strategy ${strategy} (only with block)` });
    }
    if (q.priorities?.reserve !== undefined && capacity !== undefined && q.priorities.reserve >= capacity) {
      ctx.addIssue({ code: 'custom', path: ['priorities', 'reserve'], input: q.priorities.reserve, message: `an integer < capacity (${capacity})` });
    }
    if (q.fairness && capacity !== undefined && q.fairness.per_key_capacity > capacity) {
      ctx.addIssue({ code: 'custom', path: ['fairness', 'per_key_capacity'], input: q.fairness.per_key_capacity, message: `an integer <= capacity (${capacity})` });
    }
  })
  .transform((q): QueueConfig => {
    const out: QueueConfig = {
      capacity: (q.capacity ?? q.size)!,
      strategy: q.strategy ?? q.overflow ?? (q.fairness ? 'drop-newest' : 'block'),
      highWatermark: q.high_watermark ?? 0.8,
      lowWatermark: q.low_watermark ?? Math.min(0.2, q.high_watermark ?? 0.8),
      sampleEvery: q.sample_every ?? 10,
      maxBlockMs: q.timeout ?? q.max_block,
    };
    if (q.max_bytes !== undefined) out.maxBytes = q.max_bytes;
    if (q.priorities) {
      const p = q.priorities;
      const priorities: PrioritiesConfig = { levels: p.levels, weights: p.weights, reserve: p.reserve, defaultPriority: p.default };
      out.priorities = priorities;
    }
    if (q.fairness) {
      const fairness: FairnessConfig = { perKeyCapacity: q.fairness.per_key_capacity, quantum: q.fairness.quantum, topKeys: q.fairness.top_keys };
      out.fairness = fairness;
    }
    return out;
  });

const flowTypes = ['credit-based', 'rate-based', 'adaptive'] as const;
const flowOnly: Record<string, (typeof flowTypes)[number]> = { initial_credits: 'credit-based', max_credits: 'credit-based', min_credits: 'credit-based', credit_timeout: 'credit-based', rate: 'rate-based', burst: 'rate-based' };

export const flowControlSchema = section(
  {
    type: spelledEnum(flowTypes),
    initial_credits: integer('an integer >= 0', 0).optional(),
    max_credits: integer('an integer >= 1', 1).optional(),
    min_credits: integer('an integer >= 0', 0)
      .optional()
      .meta({ description: 'Replenish threshold (Credits minCredits): when the credits left fall below it, the Credits turns low and its onLow() listeners run, so the consumer can grant the next batch before producers run dry. It does not limit producers. At most max_credits (default 0: never low).' }),
    credit_timeout: duration(true).optional().meta({ description: 'Longest an acquire() waits for credits before it rejects with a TimeoutError (default: no limit).' }),
    rate: rate().optional(),
    burst: number('a number >= 1', { min: 1 }).optional(),
  },
  'The seed flow_control section, built as a component named flow_control.',
)
  .superRefine((f, ctx) => {
    for (const [key, owner] of Object.entries(flowOnly)) {
      const value = (f as Record<string, unknown>)[key];
      if (value !== undefined && f.type !== owner) ctx.addIssue({ code: 'custom', path: [key], input: value, message: `allowed with type ${f.type} (only with ${owner})` });
    }
    if (f.type === 'credit-based' && f.initial_credits === undefined) ctx.addIssue({ code: 'custom', path: ['initial_credits'], input: undefined, message: 'an integer >= 0 (required with type credit_based)' });
    if (f.type === 'rate-based' && f.rate === undefined) ctx.addIssue({ code: 'custom', path: ['rate'], input: undefined, message: `${RATE_HINT} (required with type rate_based)` });
    if (f.max_credits !== undefined && f.initial_credits !== undefined && f.max_credits < f.initial_credits) {
      ctx.addIssue({ code: 'custom', path: ['max_credits'], input: f.max_credits, message: `an integer >= initial_credits (${f.initial_credits})` });
    }
    if (f.min_credits !== undefined && f.max_credits !== undefined && f.min_credits > f.max_credits) {
      ctx.addIssue({ code: 'custom', path: ['min_credits'], input: f.min_credits, message: `an integer <= max_credits (${f.max_credits})` });
    }
  })
  .transform((f): FlowControlConfig => {
    if (f.type === 'credit-based') return { type: f.type, initialCredits: f.initial_credits!, maxCredits: f.max_credits, minCredits: f.min_credits, creditTimeoutMs: f.credit_timeout };
    if (f.type === 'rate-based') return { type: f.type, ratePerSecond: f.rate!, burst: f.burst };
    return { type: 'adaptive' };
  });

/** Rates an adaptive section without min_rate or max_rate gets (the seed template has neither). */
export const DEFAULT_MIN_RATE = 1;
export const DEFAULT_MAX_RATE = 1000;

/** min_rate and max_rate with their defaults; a default never conflicts with the other, given, rate. */
function adaptiveRates(a: { min_rate?: number | undefined; max_rate?: number | undefined }): { minRate: number; maxRate: number } {
  return {
    minRate: a.min_rate ?? Math.min(DEFAULT_MIN_RATE, a.max_rate ?? DEFAULT_MIN_RATE),
    maxRate: a.max_rate ?? Math.max(DEFAULT_MAX_RATE, a.min_rate ?? DEFAULT_MAX_RATE),
  };
}

export const adaptiveSchema = section(
  {
    target_latency_ms: number('a number of milliseconds > 0', { gt: 0 }).optional(),
    target_latency: duration(true).optional(),
    min_rate: rate().optional().meta({ description: `Slowest pace (default ${DEFAULT_MIN_RATE}/s, or max_rate if lower).` }),
    max_rate: rate().optional().meta({ description: `Fastest pace (default ${DEFAULT_MAX_RATE}/s, or min_rate if higher).` }),
    initial_rate: rate().optional(),
    increase_rate: number('a number > 1', { gt: 1 }).optional(),
    decrease_rate: number('a number > 0 and < 1', { gt: 0, lt: 1 }).optional(),
    window: integer('an integer >= 1', 1).optional(),
    burst: number('a number >= 1', { min: 1 }).optional(),
    adjustment_interval: duration(true).optional().meta({ description: 'Adjust the rate once per interval, from the mean latency recorded in it (default: on every record()).' }),
  },
  'An AdaptiveRate (named adaptive, or flow_control when flow_control.type is adaptive).',
)
  .superRefine((a, ctx) => {
    if (a.target_latency_ms === undefined && a.target_latency === undefined) {
      ctx.addIssue({ code: 'custom', path: ['target_latency_ms'], input: undefined, message: 'a number of milliseconds > 0 (or target_latency: 100ms)' });
    }
    if (a.target_latency_ms !== undefined && a.target_latency !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['target_latency'], input: a.target_latency, message: 'allowed together with target_latency_ms' });
    }
    const { minRate, maxRate } = adaptiveRates(a);
    if (minRate > maxRate) ctx.addIssue({ code: 'custom', path: ['min_rate'], input: a.min_rate, message: `a rate <= max_rate (${maxRate}/s)` });
    if (a.initial_rate !== undefined && (a.initial_rate < minRate || a.initial_rate > maxRate)) {
      ctx.addIssue({ code: 'custom', path: ['initial_rate'], input: a.initial_rate, message: `a rate within min_rate and max_rate (${minRate}/s to ${maxRate}/s)` });
    }
  })
  .transform((a) => ({
    targetLatencyMs: (a.target_latency_ms ?? a.target_latency)!,
    ...adaptiveRates(a),
    adjustmentIntervalMs: a.adjustment_interval,
    initialRate: a.initial_rate,
    increase: a.increase_rate,
    decrease: a.decrease_rate,
    window: a.window,
    burst: a.burst,
  }));

const rateLimitSchema = section({ rate: rate(), burst: number('a number >= 1', { min: 1 }).optional() }, 'A TokenBucket.').transform((r) => ({ ratePerSecond: r.rate, burst: r.burst }));

const WRITER_STRATEGY_TEXT = `one of ${overflowStrategies.join(', ')}`;
// BatchWriter defaults, repeated for the cross-field checks (the constructor applies them).
const WRITER_DEFAULT_CAPACITY = 1000;
const WRITER_DEFAULT_FLUSH_INTERVAL = 100;

export const writerSchema = section(
  {
    capacity: integer(capacityText, 1).optional().meta({ description: 'Items buffered in front of the sink (default 1000).' }),
    size: integer(capacityText, 1).optional().meta({ description: 'Seed name for capacity.' }),
    strategy: spelledEnum(overflowStrategies, WRITER_STRATEGY_TEXT).optional().meta({ description: 'What a write does while the buffer is full (default block).' }),
    overflow: spelledEnum(overflowStrategies, WRITER_STRATEGY_TEXT).optional().meta({ description: 'Sluice name for strategy.' }),
    high_watermark: fraction('a fraction between 0 and 1', 0, true).optional(),
    low_watermark: fraction('a fraction between 0 and 1', 0, true).optional(),
    sample_every: integer('an integer >= 1', 1).optional(),
    timeout: duration(true).optional().meta({ description: 'Under block: the longest write() waits for room (default: no limit).' }),
    batch_size: integer('an integer >= 1', 1).optional().meta({ description: 'A flush starts once this many items are buffered, and sends no more (default 100, or capacity if smaller). Reloadable.' }),
    flush_interval: duration(true)
      .optional()
      .meta({ description: 'Shortest flush interval, the one the writer starts from: a partial batch waits at most this long (default 100ms). Reloadable. The seed calls it minFlushIntervalMs.' }),
    max_flush_interval: duration(true).optional().meta({ description: 'Longest interval the adaptation may reach after slow flushes (default 30s, or flush_interval if longer).' }),
    target_latency: duration(true).optional().meta({ description: 'Sink latency the interval adapts to (default 500ms).' }),
    max_bytes: bytes(
      'Byte budget of the buffer (BatchWriter maxBytes): a write is admitted only while both capacity and max_bytes hold; a batch is due once the bytes reach the high watermark; an item larger than max_bytes is dropped as too-large. Items are sized by the default sizeOf (strings, Buffers, typed arrays). Reloadable (setMaxBytes), not added or removed at runtime.',
    ).optional(),
  },
  'A BatchWriter\'s settings. A file cannot hold the sink: fromConfig(config, { sinks: { <name>: rows => db.insert(rows) } }) builds the writers it is given a sink for.',
)
  .superRefine((w, ctx) => {
    if (w.capacity !== undefined && w.size !== undefined) ctx.addIssue({ code: 'custom', path: ['size'], input: w.size, message: 'allowed together with capacity (size is the seed name for capacity)' });
    if (w.strategy !== undefined && w.overflow !== undefined) ctx.addIssue({ code: 'custom', path: ['overflow'], input: w.overflow, message: 'allowed together with strategy (overflow is another name for strategy)' });
    const capacity = w.capacity ?? w.size ?? WRITER_DEFAULT_CAPACITY;
    if (w.batch_size !== undefined && w.batch_size > capacity) ctx.addIssue({ code: 'custom', path: ['batch_size'], input: w.batch_size, message: `an integer from 1 to capacity (${capacity})` });
    const high = w.high_watermark ?? 0.8;
    if (w.low_watermark !== undefined && w.low_watermark > high) ctx.addIssue({ code: 'custom', path: ['low_watermark'], input: w.low_watermark, message: `a fraction <= high_watermark (${high})` });
    const strategy = w.strategy ?? w.overflow ?? 'block';
    if (w.timeout !== undefined && strategy !== 'block') ctx.addIssue({ code: 'custom', path: ['timeout'], input: w.timeout, message: `allowed with strategy ${strategy} (only with block)` });
    if (w.sample_every !== undefined && strategy !== 'sample') ctx.addIssue({ code: 'custom', path: ['sample_every'], input: w.sample_every, message: `allowed with strategy ${strategy} (only with sample)` });
    const min = w.flush_interval ?? WRITER_DEFAULT_FLUSH_INTERVAL;
    if (w.max_flush_interval !== undefined && w.max_flush_interval < min) ctx.addIssue({ code: 'custom', path: ['max_flush_interval'], input: w.max_flush_interval, message: `a duration >= flush_interval (${min} ms)` });
  })
  .transform(
    (w): WriterConfig => ({
      capacity: w.capacity ?? w.size,
      strategy: w.strategy ?? w.overflow,
      highWatermark: w.high_watermark,
      lowWatermark: w.low_watermark,
      sampleEvery: w.sample_every,
      maxBlockMs: w.timeout,
      batchSize: w.batch_size,
      flushIntervalMs: w.flush_interval,
      maxFlushIntervalMs: w.max_flush_interval,
      targetLatencyMs: w.target_latency,
      maxBytes: w.max_bytes,
    }),
  );

const creditsSchema = section({ initial: integer('an integer >= 0', 0), max: integer('an integer >= 1', 1).optional() }, 'A Credits.')
  .superRefine((c, ctx) => {
    if (c.max !== undefined && c.max < c.initial) ctx.addIssue({ code: 'custom', path: ['max'], input: c.max, message: `an integer >= initial (${c.initial})` });
  })
  .transform((c) => ({ initial: c.initial, max: c.max }));

const concurrencySchema = section(
  {
    algorithm: spelledEnum(limitAlgorithms).optional(),
    initial_limit: integer('an integer >= 1', 1).optional(),
    min_limit: integer('an integer >= 1', 1).optional(),
    max_limit: integer('an integer >= 1', 1).optional(),
    when_full: spelledEnum(['wait', 'reject'] as const).optional(),
    backoff_ratio: number('a number >= 0.5 and < 1', { min: 0.5, lt: 1 }).optional(),
    timeout: duration(true).optional(),
    max_waiting: integer('an integer >= 0', 0)
      .optional()
      .meta({ description: 'Callers that may wait for a permit at once; one more is refused at once (LimitExceededError): the bulkhead pattern. Only with when_full: wait. Default: no bound.' }),
    partitions: names(fraction('a share in (0, 1]', 0, false), 'Named partitions and their guaranteed share of the limit (shares add up to at most 1); a partition may borrow idle permits. Callers pass acquire({ partition }).').optional(),
  },
  'A ConcurrencyLimiter.',
)
  .superRefine((c, ctx) => {
    const algorithm = c.algorithm ?? 'fixed';
    for (const [key, owners] of [['backoff_ratio', ['aimd', 'gradient2']], ['timeout', ['aimd']]] as const) {
      const value = c[key];
      if (value !== undefined && !(owners as readonly string[]).includes(algorithm)) {
        ctx.addIssue({ code: 'custom', path: [key], input: value, message: `allowed with algorithm ${algorithm} (only with ${owners.join(' or ')})` });
      }
    }
    if (c.max_waiting !== undefined && c.when_full === 'reject') ctx.addIssue({ code: 'custom', path: ['max_waiting'], input: c.max_waiting, message: 'allowed with when_full reject (nobody waits; only with wait)' });
    if (c.partitions !== undefined) {
      const shares = Object.values(c.partitions);
      const total = shares.reduce((a, b) => a + b, 0);
      if (shares.length === 0) ctx.addIssue({ code: 'custom', path: ['partitions'], input: c.partitions, message: 'an object of at least one partition, e.g. { critical: 0.6, batch: 0.2 }' });
      else if (total > 1 + 1e-9) ctx.addIssue({ code: 'custom', path: ['partitions'], input: c.partitions, message: `shares adding up to at most 1 (they add up to ${Math.round(total * 1e6) / 1e6})` });
    }
  })
  .transform((c) => ({
  algorithm: c.algorithm ?? 'fixed',
  initialLimit: c.initial_limit,
  minLimit: c.min_limit,
  maxLimit: c.max_limit,
  whenFull: c.when_full,
  backoffRatio: c.backoff_ratio,
  timeoutMs: c.timeout,
  maxWaiting: c.max_waiting,
  partitions: c.partitions,
}));

const bulkheadSchema = section(
  {
    concurrency: integer('an integer >= 1', 1).meta({ description: 'Calls that may run at once (required).' }),
    max_waiting: integer('an integer >= 0', 0).meta({ description: 'Calls that may wait for a slot at once; one more is refused at once with LimitExceededError (required).' }),
  },
  'A bulkhead: a fixed ConcurrencyLimiter with a bounded wait queue (bulkhead() of sluice).',
).transform((b): BulkheadConfig => ({ concurrency: b.concurrency, maxWaiting: b.max_waiting }));

const breakerWindows = ['count', 'time'] as const;
const breakerOnly: Record<string, 'count' | 'time'> = { window_size: 'count', window_duration: 'time', window_buckets: 'time' };
const breakerSchema = section(
  {
    window: spelledEnum(breakerWindows).optional().meta({ description: 'count: the last window_size calls; time: the calls of the last window_duration (default count).' }),
    window_size: integer('an integer from 1 to 100000', 1, 100_000).optional().meta({ description: 'Calls in a count window (default 20).' }),
    window_duration: duration(true).optional().meta({ description: 'Length of a time window (default 10s).' }),
    window_buckets: integer('an integer from 1 to 1000', 1, 1000).optional().meta({ description: 'Buckets a time window is split into (default 10).' }),
    minimum_calls: integer('an integer >= 1', 1).optional().meta({ description: 'Calls the window must hold before a rate can open the breaker (default 10, or window_size when smaller).' }),
    failure_rate_threshold: fraction('a fraction in (0, 1]', 0, false).optional().meta({ description: 'Share of failed calls in the window at or above which the breaker opens (default 0.5).' }),
    slow_call_duration: duration(true).optional().meta({ description: 'A call taking this long or longer is slow (default: slow calls not tracked).' }),
    slow_call_rate_threshold: fraction('a fraction in (0, 1]', 0, false).optional().meta({ description: 'Share of slow calls at or above which the breaker opens (default 1). Only with slow_call_duration.' }),
    reset_after: duration(true).optional().meta({ description: 'How long the breaker stays open before it admits probes (default 30s).' }),
    half_open_probes: integer('an integer >= 1', 1).optional().meta({ description: 'Calls admitted while half-open (default 1).' }),
  },
  'A CircuitBreaker: closed, open on a failure (or slow-call) rate over a sliding window, half-open after reset_after.',
)
  .superRefine((b, ctx) => {
    const window = b.window ?? 'count';
    for (const [key, owner] of Object.entries(breakerOnly)) {
      const value = (b as Record<string, unknown>)[key];
      if (value !== undefined && owner !== window) ctx.addIssue({ code: 'custom', path: [key], input: value, message: `allowed with window ${window} (only with ${owner})` });
    }
    if (b.slow_call_rate_threshold !== undefined && b.slow_call_duration === undefined) {
      ctx.addIssue({ code: 'custom', path: ['slow_call_rate_threshold'], input: b.slow_call_rate_threshold, message: 'allowed without slow_call_duration (which says what a slow call is)' });
    }
    if (window === 'count' && b.minimum_calls !== undefined && b.minimum_calls > (b.window_size ?? 20)) {
      ctx.addIssue({ code: 'custom', path: ['minimum_calls'], input: b.minimum_calls, message: `an integer <= window_size (${b.window_size ?? 20})` });
    }
  })
  .transform(
    (b): BreakerConfig => ({
      window: b.window ?? 'count',
      windowSize: b.window_size,
      windowMs: b.window_duration,
      windowBuckets: b.window_buckets,
      minimumCalls: b.minimum_calls,
      failureRateThreshold: b.failure_rate_threshold,
      slowCallMs: b.slow_call_duration,
      slowCallRateThreshold: b.slow_call_rate_threshold,
      resetAfterMs: b.reset_after,
      halfOpenProbes: b.half_open_probes,
    }),
  );

const queueDepthText = 'a fraction in (0, 1], a percentage such as "90%", or { items: N }';
const queueDepthSchema = z
  .union(
    [
      z.number(e(queueDepthText)).gt(0, e(queueDepthText)).max(1, e(queueDepthText)),
      z.string(e(queueDepthText)).regex(new RegExp(FRACTION_PATTERN), e(queueDepthText)),
      z.strictObject({ items: integer('an integer >= 1', 1) }, e(queueDepthText)),
    ],
    e(queueDepthText),
  )
  .transform((value, ctx) => {
    if (typeof value === 'object') return { items: value.items };
    const f = typeof value === 'number' ? value : parseFraction(value);
    if (f === undefined || f <= 0) {
      ctx.addIssue({ code: 'custom', message: queueDepthText, input: value });
      return z.NEVER;
    }
    return { utilization: f };
  })
  .meta({ description: queueDepthText });

const lagText = 'an object: { items: N } (messages behind) or { pressure: P } (backlog divided by the lag source\'s threshold)';
const lagSchema = z
  .strictObject(
    {
      items: integer('an integer >= 1', 1).optional().meta({ description: 'Messages behind: the lag source\'s backlog (undelivered plus unacknowledged).' }),
      pressure: number('a number > 0', { gt: 0 }).optional().meta({ description: 'The lag source\'s pressure: its backlog divided by its own threshold (1 = at the threshold).' }),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? 'a known key (allowed: items, pressure)' : lagText) },
  )
  .superRefine((l, ctx) => {
    if (l.items === undefined && l.pressure === undefined) ctx.addIssue({ code: 'custom', path: ['items'], input: undefined, message: 'an integer >= 1 (or pressure: a number > 0)' });
    if (l.items !== undefined && l.pressure !== undefined) ctx.addIssue({ code: 'custom', path: ['pressure'], input: l.pressure, message: 'allowed together with items (give one of them)' });
  })
  .transform((l): LagThreshold => (l.items !== undefined ? { items: l.items } : { pressure: l.pressure! }))
  .meta({ description: `Broker lag of the lag sources given to fromConfig() in watch (streamLag, queueDepth, jetStreamLag): ${lagText}.` });

const slopeText = 'a change per second such as 0.05/s or 3/min, or a number per second (> 0)';

export const monitoringSchema = section(
  {
    metrics_interval: duration(true).optional(),
    alert_thresholds: section(
      {
        queue_depth: queueDepthSchema.optional(),
        drop_rate: fraction('a fraction in (0, 1]', 0, false).optional(),
        blocked_time: duration(true).optional().meta({ description: 'Longest current block: alert when a producer has been waiting this long (the oldest waiter of a channel or limiter).' }),
        lag: lagSchema.optional(),
        slope: rate(slopeText)
          .optional()
          .meta({ description: `A trend's slope: alert when its reading rises at least this much per second (1 = the threshold of the trend's source): ${slopeText}.` }),
        time_to_full: duration(true)
          .optional()
          .meta({ description: 'Alert when a queue will be full within this long at its current fill rate (or a trend reaches its threshold), before it is full; resolves once the time is above this / resolve_ratio or the queue no longer fills.' }),
      },
      'Alert thresholds, evaluated every metrics_interval on every queue and limiter (and on what fromConfig() is given in watch).',
    ).optional(),
    alert_for: duration(false).optional(),
    alert_window: duration(true).optional(),
    resolve_ratio: fraction('a fraction in (0, 1]', 0, false).optional(),
  },
  'Alerts (seed monitoring section).',
).transform((m) => ({
  intervalMs: m.metrics_interval,
  thresholds: {
    ...(m.alert_thresholds?.queue_depth !== undefined ? { queueDepth: m.alert_thresholds.queue_depth } : {}),
    ...(m.alert_thresholds?.drop_rate !== undefined ? { dropRate: m.alert_thresholds.drop_rate } : {}),
    ...(m.alert_thresholds?.blocked_time !== undefined ? { blockedTime: m.alert_thresholds.blocked_time } : {}),
    ...(m.alert_thresholds?.lag !== undefined ? { lag: m.alert_thresholds.lag } : {}),
    ...(m.alert_thresholds?.slope !== undefined ? { slope: m.alert_thresholds.slope } : {}),
    ...(m.alert_thresholds?.time_to_full !== undefined ? { timeToFull: m.alert_thresholds.time_to_full } : {}),
  },
  forMs: m.alert_for,
  windowMs: m.alert_window,
  resolveRatio: m.resolve_ratio,
}));

const workloadShape = {
  arrival_rate: rate().optional(),
  service_time: duration(true).optional(),
  service_distribution: z.enum(['exponential', 'fixed'], e('one of exponential, fixed')).optional(),
  consumers: integer('an integer from 1 to 10000', 1, 10_000).optional(),
};
const toWorkload = (w: { arrival_rate?: number; service_time?: number; service_distribution?: 'exponential' | 'fixed'; consumers?: number }): WorkloadConfig => ({
  arrivalRate: w.arrival_rate,
  serviceTimeMs: w.service_time,
  serviceDistribution: w.service_distribution,
  consumers: w.consumers,
});

export const simulationSchema = section(
  {
    ...workloadShape,
    seed: integer('an integer from 0 to 4294967295', 0, 2 ** 32 - 1).optional(),
    duration: duration(true).optional(),
    queues: names(section(workloadShape, 'Workload for one queue, over the defaults above.').transform(toWorkload), 'Per-queue workload overrides.').optional(),
  },
  'Workload for sluice simulate.',
).transform((s) => ({ ...toWorkload(s), seed: s.seed, durationMs: s.duration, queues: s.queues ?? {} }));

const SECTIONS = ['queues', 'writers', 'rate_limits', 'credits', 'concurrency', 'bulkheads', 'breakers'] as const;

export const configSchema = section(
  {
    $schema: z.string(e('a string')).optional().meta({ description: 'Path or URL of this JSON Schema, for editors.' }),
    version: z.literal(1, e('1')).optional(),
    queues: names(queueSchema, 'Channels by name.').optional(),
    writers: names(writerSchema, "BatchWriters' settings by name (batch_size and flush_interval reloadable); the sink comes from code.").optional(),
    flow_control: flowControlSchema.optional(),
    adaptive: adaptiveSchema.optional(),
    rate_limits: names(rateLimitSchema, 'TokenBuckets by name.').optional(),
    credits: names(creditsSchema, 'Credits by name.').optional(),
    concurrency: names(concurrencySchema, 'ConcurrencyLimiters by name.').optional(),
    bulkheads: names(bulkheadSchema, 'Bulkheads (fixed ConcurrencyLimiters with a bounded wait queue) by name.').optional(),
    breakers: names(breakerSchema, 'CircuitBreakers by name.').optional(),
    monitoring: monitoringSchema.optional(),
    simulation: simulationSchema.optional(),
  },
  'Sluice configuration: queues, writers, flow control, limiters, bulkheads, breakers, alerts and the simulated workload. Keys follow the seed template; the file may also wrap everything in a top-level backpressure: key.',
).superRefine((c, ctx) => {
  const seen = new Map<string, string>();
  const claim = (name: string, where: string, path: (string | number)[]) => {
    const earlier = seen.get(name);
    if (earlier) ctx.addIssue({ code: 'custom', path, input: name, message: `unique across sections (already used by ${earlier})` });
    else seen.set(name, where);
  };
  for (const s of SECTIONS) for (const name of Object.keys(c[s] ?? {})) claim(name, `${s}.${name}`, [s, name]);
  const adaptiveConsumed = c.flow_control?.type === 'adaptive';
  if (c.flow_control) claim('flow_control', 'flow_control', ['flow_control']);
  if (c.adaptive && !adaptiveConsumed) claim('adaptive', 'adaptive', ['adaptive']);
  if (adaptiveConsumed && !c.adaptive) ctx.addIssue({ code: 'custom', path: ['adaptive'], input: undefined, message: 'an adaptive section (flow_control.type is adaptive)' });
  for (const name of Object.keys(c.simulation?.queues ?? {})) {
    if (!c.queues?.[name]) ctx.addIssue({ code: 'custom', path: ['simulation', 'queues', name], input: name, message: `the name of a queue (queues has ${Object.keys(c.queues ?? {}).join(', ') || 'none'})` });
  }
});
