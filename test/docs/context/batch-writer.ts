// Placeholders for the BatchWriter examples.
import type { Row } from './common.js';

export { default as fs } from 'node:fs/promises';
export declare const lines: (rows: Row[]) => string;
