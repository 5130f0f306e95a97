// pg-copy-streams is an optional peer dependency: it is looked up when a
// 'copy' sink is created (so a missing package fails at construction, with
// the install command) and imported on the first COPY, so 'insert' users never need it.
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import type { PgSubmittable } from './types.js';

/** `pg-copy-streams`' `from()`, as far as the sink uses it. */
export type CopyFrom = (text: string) => Writable & PgSubmittable & { rowCount: number };

export const copyStreamsPackage = 'pg-copy-streams';
let copyFromLoading: Promise<CopyFrom> | undefined;

export function copyStreamsInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve(copyStreamsPackage);
    return true;
  } catch {
    return false;
  }
}

export function loadCopyFrom(): Promise<CopyFrom> {
  copyFromLoading ??= import(copyStreamsPackage).then(
    (module: { from?: CopyFrom; default?: { from?: CopyFrom } }) => {
      const from = module.from ?? module.default?.from;
      if (typeof from !== 'function') throw new Error(`sluice/postgres: '${copyStreamsPackage}' has no from() export; install pg-copy-streams 6 or later`);
      return from;
    },
    (cause: unknown) => {
      copyFromLoading = undefined;
      throw new Error(`sluice/postgres: method 'copy' needs the '${copyStreamsPackage}' package, which could not be loaded (npm install ${copyStreamsPackage})`, { cause });
    },
  );
  return copyFromLoading;
}
