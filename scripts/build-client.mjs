// The dashboard's page script, bundled for the browser from src/tools/dashboard/browser/.
// One definition for both callers: scripts/build.mjs (dist/tools/dashboard/assets/dashboard.js)
// and src/tools/dashboard/dev-assets.ts (served on request when tsx runs the sources).
import { build } from 'esbuild';

const entry = new URL('../src/tools/dashboard/browser/client.ts', import.meta.url).pathname;

/** The bundled script's text. Not minified: there is no source map, so it stays readable in devtools. */
export async function buildClient() {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    // Browsers from 2020 on (EventSource, ResizeObserver, optional chaining); uPlot needs no more.
    target: 'es2020',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
