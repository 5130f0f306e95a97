import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Scenario } from './types.js';

/** Prefix of the one stdout line a worker prints its JSON report on. */
export const RESULT_MARKER = '@@sluice-bench-result ';

export const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * `bench/scenarios/`, unless `SLUICE_BENCH_SCENARIO_DIR` points elsewhere: the
 * harness tests use that to run a scenario built to fail its check.
 */
const scenarioDir = process.env.SLUICE_BENCH_SCENARIO_DIR ? resolve(process.env.SLUICE_BENCH_SCENARIO_DIR) : join(benchDir, 'scenarios');

/** Scenario names: every `<scenarioDir>/<name>.ts`, sorted. */
export function listScenarios(): string[] {
  return readdirSync(scenarioDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts') && !f.startsWith('_'))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

/** Imports `<scenarioDir>/<name>.ts` and checks its default export looks like a scenario. */
export async function loadScenario(name: string): Promise<Scenario> {
  if (!listScenarios().includes(name)) throw new Error(`unknown scenario '${name}'`);
  const mod = (await import(pathToFileURL(join(scenarioDir, `${name}.ts`)).href)) as { default?: Scenario };
  const scenario = mod.default;
  if (!scenario || typeof scenario.contenders !== 'object' || scenario.name !== name) {
    throw new Error(`${join(scenarioDir, name)}.ts must default-export defineScenario({ name: '${name}', ... })`);
  }
  if (!(scenario.baseline in scenario.contenders)) {
    throw new Error(`scenario '${name}': baseline '${scenario.baseline}' is not one of its contenders`);
  }
  return scenario;
}
