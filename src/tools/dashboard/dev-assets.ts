// The dashboard's assets when tsx runs the sources (no dist/): the same files the
// build writes, made from the repository's devDependencies: uPlot read from its
// package, the page script bundled by esbuild on the first request (about 50 ms),
// so an edit to browser/ shows on the next page load after a restart. Not part
// of the build (tsconfig.build.json excludes it); assets.ts loads it only from src/.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { buildClient } from '../../../scripts/build-client.mjs';

const require = createRequire(import.meta.url);

export async function devAsset(name: string): Promise<string | Buffer> {
  switch (name) {
    case 'uPlot.iife.min.js':
    case 'uPlot.min.css':
      return readFile(require.resolve(`uplot/dist/${name}`));
    case 'dashboard.js':
      return buildClient();
    default:
      throw new Error(`no development source for dashboard asset ${name}`);
  }
}
