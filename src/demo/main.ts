// `npm start`: the log-processing meltdown demo with its defaults (20 s,
// strategy 'block', dashboard on a free port, the unbounded contrast beside it).
// SLUICE_DEMO_SECONDS shortens or lengthens it; Ctrl-C stops it early.
import { runDemo } from './index.js';

const seconds = Number(process.env.SLUICE_DEMO_SECONDS ?? 20);
const controller = new AbortController();
const stop = () => controller.abort(new Error('interrupted'));
process.once('SIGINT', stop);

try {
  await runDemo({ durationMs: seconds * 1000, signal: controller.signal });
} catch (error) {
  if (!controller.signal.aborted) throw error;
  console.error('\nDemo interrupted.');
  process.exitCode = 130;
} finally {
  process.off('SIGINT', stop);
}
