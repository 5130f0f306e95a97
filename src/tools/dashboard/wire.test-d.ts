// The page script (browser/client.ts) is type-checked on its own, against DOM
// types, so it restates the snapshot it reads (browser/wire.ts). Checked by
// `npm run typecheck`, not run: the server's snapshot must still give the page
// every field it reads, with the type it expects.
import { expectTypeOf } from 'expect-type';
import type { WireSnapshot } from './browser/wire.js';
import type { PageConfig } from './page.js';
import type { DashboardSnapshot } from './snapshot.js';

expectTypeOf<DashboardSnapshot>().toExtend<WireSnapshot>();
expectTypeOf<PageConfig>().toHaveProperty('historySize').toEqualTypeOf<number>();
