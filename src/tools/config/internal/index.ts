// What the CLI needs from the config loader beyond sluice/config's public entry:
// the size-capped file reader and the cap on listed issues. Kept here, behind an
// internal/ folder, so `sluice/config` does not grow and the CLI does not reach
// into the loader's modules.
export { readConfigFile } from '../load.js';
export { MAX_LISTED_ISSUES } from '../errors.js';
