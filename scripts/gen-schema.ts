// Writes schema/sluice.config.schema.json from the zod schema in src/tools/config.
// Usage: tsx scripts/gen-schema.ts [--check]   (--check exits 1 if the file is stale)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/tools/config/index.js';

const target = fileURLToPath(new URL('../schema/sluice.config.schema.json', import.meta.url));
const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error(`gen-schema: ${target} is out of date; run: npx tsx scripts/gen-schema.ts`);
    process.exit(1);
  }
  console.log('gen-schema: schema is up to date');
} else {
  writeFileSync(target, text);
  console.log(`gen-schema: wrote ${target}`);
}
