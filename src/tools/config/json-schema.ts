import { z } from 'zod';
import { configSchema } from './schema.js';

/** Where the generated schema is published in the package (see `scripts/gen-schema.ts`). */
export const SCHEMA_ID = 'https://unpkg.com/sluice/schema/sluice.config.schema.json';

/**
 * The JSON Schema (draft 2020-12) of the configuration file, as written to
 * `schema/sluice.config.schema.json`. It describes the file as written (input
 * side: `5s`, `"80%"`, `drop_oldest` ...). Cross-field rules (low ≤ high
 * watermark, unique names, capacity or size) are only checked by `parseConfig()`.
 * @example
 * writeFileSync('schema.json', JSON.stringify(configJsonSchema(), null, 2));
 */
export function configJsonSchema(): Record<string, unknown> {
  const { $schema, ...config } = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema,
    $id: SCHEMA_ID,
    title: 'Sluice configuration',
    description: config.description,
    // The seed template wraps everything in `backpressure:`; both forms are accepted.
    anyOf: [
      { $ref: '#/$defs/config' },
      { type: 'object', properties: { backpressure: { $ref: '#/$defs/config' } }, required: ['backpressure'], additionalProperties: false },
    ],
    $defs: { config },
  };
}
