export function buildClient(): Promise<string>;
