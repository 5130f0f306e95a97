/**
 * One of the processes that share a rate in the `shared-rate` scenario's
 * accuracy runs. Started by the scenario's worker with one JSON argument;
 * prints `ready`, reads the start time (epoch ms) as one line on stdin, then
 * runs `callers` loops of `acquire()` from the start until the window ends,
 * counting the grants that arrive inside the window
 * [start + warmupMs, start + warmupMs + windowMs), and prints
 * `result <json>`. Grants before the window (the warm-up: a full bucket's
 * burst, the first fixed window) are not counted.
 *
 * Usage: node --import tsx bench/contenders/shared-rate-child.ts '{"kind":"sluice",...}'
 */
import { createInterface } from 'node:readline';
import { connect, createLimiter, type PeerKind } from './shared-rate.js';

interface ChildArgs {
  kind: PeerKind;
  name: string;
  rate: number;
  burst: number;
  callers: number;
  warmupMs: number;
  windowMs: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as ChildArgs;
  const redis = await connect();
  const limiter = await createLimiter(args.kind, redis, args.name, args.rate, args.burst);
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  const start = await new Promise<number>((resolve) => lines.once('line', (line) => resolve(Number(line))));
  lines.close();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, start - Date.now())));
  const from = start + args.warmupMs;
  const until = from + args.windowMs;
  let granted = 0;
  let inWindow = 0;
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped && Date.now() < until) {
      await limiter.acquire();
      granted++;
      const now = Date.now();
      if (now >= from && now < until) inWindow++;
    }
  };
  const loops = Array.from({ length: args.callers }, loop);
  // Calls still waiting when the window closes would be granted after it: not
  // counted, and not waited for (a reservation can be seconds away).
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now()) + 20));
  stopped = true;
  const settledAtEnd = await Promise.race([Promise.all(loops).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 50))]);
  limiter.verify(); // health only: calls cut off at the end were granted by Redis but not counted by the loops
  process.stdout.write(`result ${JSON.stringify({ inWindow, granted, settledAtEnd })}\n`);
  await limiter.close();
  redis.disconnect();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
