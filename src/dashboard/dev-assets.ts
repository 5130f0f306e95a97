// The dashboard's assets when tsx runs the sources (no dist/): the same files the
// build copies, read from the repository's devDependencies. Not part of the build
// (tsconfig.build.json excludes it); assets.ts loads it only from src/.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export async function devAsset(name: string): Promise<string | Buffer> {
  switch (name) {
    case 'uPlot.iife.min.js':
    case 'uPlot.min.css':
      return readFile(require.resolve(`uplot/dist/${name}`));
    default:
      throw new Error(`no development source for dashboard asset ${name}`);
  }
}
