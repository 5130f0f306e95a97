import { formatBytes, formatDuration, formatPercent, formatRate, type Burst } from '../../internal/config-units.js';
import { BLOCKING_TARGET, planCapacity, type CapacityPlan, type PlanInput } from '../simulate/index.js';
import { table, type CliIo } from './format.js';

export interface PlanFlags {
  arrivalRate: number;
  serviceTime: number;
  latencyBudget?: number;
  lossBudget?: number;
  burst?: Burst;
  itemBytes?: number;
  memoryBudget?: number;
  canLose?: boolean;
  criticality?: 'low' | 'high';
  latencySensitive?: boolean;
  name?: string;
  json?: boolean;
}

/** `sluice plan`: prints the recommendation and the reasoning. Exit 0 when every budget is met, 1 otherwise. */
export function planCommand(flags: PlanFlags, io: CliIo): number {
  const input: PlanInput = {
    arrivalRate: flags.arrivalRate,
    serviceTimeMs: flags.serviceTime,
    ...(flags.latencyBudget !== undefined ? { latencyBudgetMs: flags.latencyBudget } : {}),
    ...(flags.lossBudget !== undefined ? { lossBudget: flags.lossBudget } : {}),
    ...(flags.burst !== undefined ? { burst: flags.burst } : {}),
    ...(flags.itemBytes !== undefined ? { itemBytes: flags.itemBytes } : {}),
    ...(flags.memoryBudget !== undefined ? { memoryBudgetBytes: flags.memoryBudget } : {}),
    ...(flags.canLose !== undefined ? { canLose: flags.canLose } : {}),
    ...(flags.criticality !== undefined ? { criticality: flags.criticality } : {}),
    ...(flags.latencySensitive !== undefined ? { latencySensitive: flags.latencySensitive } : {}),
  };
  const itemBytes = flags.itemBytes ?? 1024;
  if (flags.memoryBudget !== undefined && flags.memoryBudget < itemBytes) {
    io.stderr(`error: --memory-budget ${formatBytes(flags.memoryBudget)} cannot hold one item of ${formatBytes(itemBytes)} (--item-bytes); give at least ${formatBytes(itemBytes)}\n`);
    return 2;
  }
  const plan = planCapacity(input);
  const name = flags.name ?? 'my_queue';
  if (flags.json) {
    io.stdout(`${JSON.stringify({ input, ...plan, config: snippetObject(plan, name) }, (_k, v) => (v === Infinity ? null : v), 2)}\n`);
  } else {
    io.stdout(renderPlan(plan, input, name));
  }
  return plan.ok ? 0 : 1;
}

function snippetObject(plan: CapacityPlan, name: string): Record<string, unknown> {
  const queue: Record<string, unknown> = { capacity: plan.capacity, strategy: plan.overflow, high_watermark: plan.highWatermark, low_watermark: plan.lowWatermark };
  const out: Record<string, unknown> = { queues: { [name]: queue } };
  const up = plan.upstream;
  if (up?.kind === 'Credits') out.credits = { [`${name}_credits`]: { initial: up.initial, max: up.max } };
  if (up?.kind === 'AdaptiveRate') out.adaptive = { target_latency_ms: up.targetLatencyMs, min_rate: `${up.minRate}/s`, max_rate: `${up.maxRate}/s` };
  return out;
}

function yaml(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') return String(value);
  return Object.entries(value)
    .map(([k, v]) => (v !== null && typeof v === 'object' ? `\n${indent}${k}:${yaml(v, `${indent}  `)}` : `\n${indent}${k}: ${String(v)}`))
    .join('');
}

export function renderPlan(plan: CapacityPlan, input: PlanInput, name: string): string {
  const f = plan.figures;
  const s = plan.sizing;
  const out: string[] = [];
  out.push(`sluice plan: ${formatRate(input.arrivalRate)} arriving, ${formatDuration(input.serviceTimeMs)} per item (one consumer serves ${formatRate(f.serviceRate)})`);
  out.push('', 'Recommendation');
  out.push(
    table([
      ['strategy', `${plan.strategy}${plan.strategy !== plan.overflow ? ` (a '${plan.overflow}' Channel behind ${plan.upstream!.kind})` : ''}`],
      ['capacity', `${plan.capacity} items (K = ${plan.systemCapacity} counting the item in service)`],
      ['watermarks', `high ${plan.highWatermark}, low ${plan.lowWatermark}`],
      ['memory', `${formatBytes(f.memoryBytes)} (${plan.capacity} × ${formatBytes(f.itemBytes)})`],
      ...(plan.upstream?.kind === 'AdaptiveRate'
        ? [['upstream', `AdaptiveRate targetLatencyMs ${round(plan.upstream.targetLatencyMs)}, minRate ${plan.upstream.minRate}/s, maxRate ${plan.upstream.maxRate}/s`]]
        : plan.upstream?.kind === 'Credits'
          ? [['upstream', `Credits initial ${plan.upstream.initial}, max ${plan.upstream.max} (consumer grants one per item done)`]]
          : []),
    ]),
  );
  out.push('', 'Why this strategy (decision matrix)');
  out.push(...plan.decision.map((d, i) => `  ${i + 1}. ${d}`));
  out.push('', 'Why this size (K = buffer + the item in service)');
  const sizing: string[][] = [];
  if (input.lossBudget !== undefined && plan.overflow !== 'block') {
    sizing.push([`loss budget ${formatPercent(input.lossBudget)}`, s.byLoss === undefined ? 'cannot be met at any size' : `needs K >= ${s.byLoss}`]);
  }
  if (s.byBlocking !== undefined) sizing.push([`producers blocked <= ${formatPercent(BLOCKING_TARGET)} of arrivals`, `needs K >= ${s.byBlocking}`]);
  if (input.burst) sizing.push([`burst ${input.burst.factor}x for ${formatDuration(input.burst.durationMs)}`, s.byBurst === undefined ? 'absorbed at any size (consumer keeps up)' : `needs K >= ${s.byBurst}`]);
  if (s.fallback !== undefined) sizing.push(['no constraint given', `one second of consumer work: K = ${s.fallback}`]);
  if (s.byLatency !== undefined) sizing.push([`latency budget ${formatDuration(input.latencyBudgetMs!)}`, `allows K <= ${s.byLatency} (80% × budget / service time)`]);
  if (s.byMemory !== undefined) sizing.push([`memory budget ${formatBytes(input.memoryBudgetBytes!)}`, `allows K <= ${s.byMemory}`]);
  sizing.push(['chosen', `K = ${plan.systemCapacity}`]);
  out.push(table(sizing));
  out.push('', `Queueing figures at this size (M/M/1/K, Poisson arrivals, exponential service)`);
  out.push(
    table([
      ['utilization ρ = λ / μ', `${round(f.rho)} (${formatRate(input.arrivalRate)} ÷ ${formatRate(f.serviceRate)})${f.peakRho !== f.rho ? `, ${round(f.peakRho)} during bursts` : ''}`],
      [plan.overflow === 'block' ? 'chance an arrival finds it full' : 'loss (1 − ρ)ρ^K / (1 − ρ^(K+1))', formatPercent(f.loss)],
      ['throughput λ(1 − loss)', formatRate(f.throughput)],
      ['mean in system L', `${round(f.meanInSystem)} items`],
      ["mean time in system W = L / λ_eff", `${formatDuration(f.meanSojournMs)} (Little's law: L = λW)`],
      ['mean wait before service', formatDuration(f.meanWaitMs)],
      ['wait when the buffer is full', `${formatDuration(f.fullBufferWaitMs)} (capacity × service time)`],
      ...(f.burstAbsorbMs !== undefined
        ? [['burst absorbed for', f.burstAbsorbMs === Infinity ? 'the whole burst (consumer keeps up)' : `${formatDuration(f.burstAbsorbMs)} (capacity / (burst rate − service rate))`]]
        : []),
      ['drain high → low watermark', f.highToLowDrainMs === Infinity ? 'never without backpressure (no spare service capacity)' : formatDuration(f.highToLowDrainMs)],
    ]),
  );
  if (plan.issues.length) out.push('', 'Budgets not met', ...plan.issues.map((i) => `  - ${i}`));
  if (plan.warnings.length) out.push('', 'Warnings', ...plan.warnings.map((w) => `  - ${w}`));
  out.push('', 'Config (sluice.yaml)', yaml(snippetObject(plan, name), '  ').replace(/^\n/, ''));
  return `${out.join('\n')}\n`;
}

function round(x: number): number {
  return Number(x.toPrecision(4));
}
