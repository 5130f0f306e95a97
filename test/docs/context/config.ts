// Placeholders for the sluice/config examples (watchConfig, planReload).
import type { BuiltComponents } from 'sluice/config';

export declare const built: BuiltComponents;
/** Two versions of a configuration file's text. */
export declare const oldText: string;
export declare const newText: string;
