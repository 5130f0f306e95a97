// pg-copy-streams is an optional peer dependency: it is looked up when a
// 'copy' sink is created (so a missing package fails at construction, with
// the install command) and imported on the first COPY, so 'insert' users never need it.
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import type { PgSubmittable } from './types.js';
import { InvalidOptionError } from '../../core/errors/index.js';

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
      if (typeof from !== 'function') throw new InvalidOptionError('method', 'copy', `'insert', or 'copy' with ${copyStreamsPackage} 6 or later installed`, `the installed '${copyStreamsPackage}' has no from() export`);
      return from;
    },
    (cause: unknown) => {
      copyFromLoading = undefined;
      throw Object.assign(
        new InvalidOptionError('method', 'copy', `'insert', or 'copy' with ${copyStreamsPackage} installed`, `'${copyStreamsPackage}' could not be loaded: npm install ${copyStreamsPackage}`),
        { cause },
      );
    },
  );
  return copyFromLoading;
}
