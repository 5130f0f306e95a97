// The files the page loads from `assets/`. The installed package serves files
// made at build time (scripts/build.mjs writes them to dist/tools/dashboard/assets/:
// uPlot copied from its package, the page script bundled from browser/client.ts),
// so it needs neither the uplot package nor a bundler at run time. Run from
// src/ (tsx: `npm start`, the tests) there is no build: dev-assets.ts reads the
// same files from the repository's devDependencies instead.
import { readFile } from 'node:fs/promises';
import { dashboardCss } from './page.js';

export interface Asset {
  type: string;
  body: () => Promise<string | Buffer>;
}

interface DevAssets {
  devAsset(name: string): Promise<string | Buffer>;
}

// A .ts module URL means tsx is running the sources. The specifier is a variable so
// tsc does not pull dev-assets.ts (which imports devDependencies) into dist/.
const fromSource = import.meta.url.endsWith('.ts');
const devModule = './dev-assets.ts';

function builtFile(name: string): () => Promise<string | Buffer> {
  let cached: Promise<string | Buffer> | undefined;
  return () => {
    cached ??= fromSource
      ? (import(devModule) as Promise<DevAssets>).then((dev) => dev.devAsset(name))
      : readFile(new URL(`assets/${name}`, import.meta.url));
    cached.catch(() => (cached = undefined)); // a failed read is retried on the next request
    return cached;
  };
}

export const assets: Record<string, Asset> = {
  'uPlot.iife.min.js': { type: 'text/javascript; charset=utf-8', body: builtFile('uPlot.iife.min.js') },
  'uPlot.min.css': { type: 'text/css; charset=utf-8', body: builtFile('uPlot.min.css') },
  'dashboard.js': { type: 'text/javascript; charset=utf-8', body: builtFile('dashboard.js') },
  'dashboard.css': { type: 'text/css; charset=utf-8', body: () => Promise.resolve(dashboardCss) },
};
