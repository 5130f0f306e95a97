/** The Node LTS lines `npm test` runs on, newest first. */
export declare const supportedLines: readonly string[];
/** A Node binary of `line`, installing it from the npm registry on first use. */
export declare function nodeBinary(line: string): { path: string; version: string };
