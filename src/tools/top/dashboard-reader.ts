import type { DashboardSnapshot } from '../dashboard/index.js';

/** Where a dashboard serves its event stream and snapshot, from the URL the user gave (its page, or either of those). */
export function dashboardBase(url: URL): URL {
  const base = new URL(url.href);
  base.search = '';
  base.hash = '';
  base.pathname = base.pathname.replace(/(events|snapshot\.json)$/, '');
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base;
}

function isSnapshot(value: unknown): value is DashboardSnapshot {
  return typeof value === 'object' && value !== null && Array.isArray((value as DashboardSnapshot).components);
}

/** GETs `/snapshot.json`: the dashboard's latest snapshot, exactly as it serves it. */
export async function fetchDashboardSnapshot(base: URL, signal?: AbortSignal): Promise<DashboardSnapshot> {
  const res = await fetch(new URL('snapshot.json', base), { signal, headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${new URL('snapshot.json', base).href} answered ${res.status} ${res.statusText}`);
  const body: unknown = await res.json();
  if (!isSnapshot(body)) throw new Error(`${new URL('snapshot.json', base).href} is not a Sluice dashboard snapshot`);
  return body;
}

/**
 * One Server-Sent Events message: its event name ('message' when none) and
 * its data lines joined with '\n'.
 */
export interface SseMessage {
  event: string;
  data: string;
}

/** Splits an event stream into messages as chunks arrive; keeps the unfinished tail. */
export class SseParser {
  private buffer = '';

  push(chunk: string): SseMessage[] {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    const out: SseMessage[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) out.push({ event, data: data.join('\n') });
    }
    return out;
  }
}

/**
 * Follows the dashboard's `/events` stream and calls `onSnapshot` with each
 * snapshot (the newest of the history sent on connect first). Resolves when
 * the server ends the stream; rejects when it cannot connect, or with the
 * server's reason when it evicts this viewer. Abort safety: aborting `signal`
 * cancels the request and resolves.
 */
export async function followDashboard(base: URL, onSnapshot: (snapshot: DashboardSnapshot) => void, signal: AbortSignal): Promise<void> {
  const url = new URL('events', base);
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { accept: 'text/event-stream' } });
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
  if (!res.ok || !res.body) throw new Error(`${url.href} answered ${res.status} ${res.statusText}`);
  const parser = new SseParser();
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      for (const message of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
        if (message.event === 'evicted') throw new Error(`the dashboard dropped this viewer: ${String(JSON.parse(message.data))}`);
        const value: unknown = JSON.parse(message.data);
        if (message.event === 'history') {
          const last = Array.isArray(value) ? (value.at(-1) as unknown) : undefined;
          if (isSnapshot(last)) onSnapshot(last);
        } else if (isSnapshot(value)) {
          onSnapshot(value);
        }
      }
    }
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
}
