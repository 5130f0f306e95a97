import { InvalidOptionError } from '../../core/errors/index.js';
import type { RedisArgument, RedisClient, RedisConnection } from './client.js';

// node-redis (the `redis` package, v5 and later) is taken as it is: Sluice
// recognises it by shape (sendCommand(), isReady, no call()) and talks to it
// through a small wrapper that makes it look like the ioredis members Sluice
// uses. Nothing here imports 'redis'; it stays an optional peer dependency.

/** A pub/sub listener as node-redis calls it: message first, then channel. */
type NodeRedisListener = (message: string, channel: string) => unknown;

/**
 * What Sluice needs from a node-redis client (`createClient()` of the `redis`
 * package, v5 or later). Pass yours as `redis` (or `subscriber`) to any
 * `sluice/redis` component; it is recognised and wrapped, never closed by
 * Sluice. Connect it first (`await client.connect()`) and give it an
 * `'error'` listener, as node-redis asks. RESP2 and RESP3 both work: Sluice
 * reads replies in their RESP2 shape either way. A node-redis cluster
 * (`createCluster()`) is not supported; use an ioredis `Cluster` for that.
 * Nor is a client with `keyPrefix` (Sluice's commands go through
 * `sendCommand()`, which does not apply it): put the prefix in `key`.
 * @example
 * import { createClient } from 'redis';
 * const client = createClient({ url: 'redis://127.0.0.1:6379' });
 * client.on('error', (error) => console.error(error));
 * await client.connect();
 * const redis: NodeRedisClient = client;
 */
export interface NodeRedisClient {
  sendCommand(args: ReadonlyArray<string | Buffer>, options?: { typeMapping?: Record<number, unknown> }): Promise<unknown>;
  /** True between `connect()` and `destroy()`/`close()`, reconnects included. */
  readonly isOpen: boolean;
  /** True while the connection is up and commands go out at once. */
  readonly isReady: boolean;
  /** An unconnected copy with the same settings; Sluice connects it, uses it for pub/sub and blocking reads, and destroys it. */
  duplicate(): NodeRedisClient;
  connect(): Promise<unknown>;
  subscribe(channels: string | string[], listener: NodeRedisListener): Promise<unknown>;
  unsubscribe(channels?: string | string[], listener?: NodeRedisListener): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  /** node-redis v5+: closes the connection at once. */
  destroy?(): void;
  /** node-redis v4 name of destroy(). */
  disconnect?(): Promise<unknown>;
}

/** An ioredis client (or anything with call()) or a node-redis client: what the `redis` option takes. */
export type AnyRedisClient = RedisClient | NodeRedisClient;

/** True for a node-redis client: sendCommand() and isReady, and no ioredis call(). */
export function isNodeRedis(value: unknown): value is NodeRedisClient {
  if (value === null || typeof value !== 'object') return false;
  const c = value as Partial<Record<string, unknown>>;
  return typeof c.call !== 'function' && typeof c.sendCommand === 'function' && typeof c.isReady === 'boolean' && typeof c.duplicate === 'function';
}

function refuseUnsupported(field: string, value: NodeRedisClient): void {
  // A RedisCluster routes by key (sendCommand(firstKey, isReadonly, args)), a shape Sluice does not speak.
  if ('masters' in value || typeof (value as { getSlotMaster?: unknown }).getSlotMaster === 'function') {
    throw new InvalidOptionError(field, value, 'a node-redis client from createClient() (a node-redis cluster is not supported; use an ioredis Cluster)');
  }
  // sendCommand() bypasses node-redis's keyPrefix, so Sluice's keys would silently differ from the ones an ioredis client with the same prefix uses.
  const keyPrefix = (value as { options?: { keyPrefix?: unknown } }).options?.keyPrefix;
  if (keyPrefix !== undefined && keyPrefix !== '') {
    throw new InvalidOptionError(field, value, "a node-redis client without keyPrefix (Sluice's commands would bypass it); put the prefix in the component's key instead", `keyPrefix is ${JSON.stringify(String(keyPrefix))}`);
  }
}

const wrappers = new WeakMap<NodeRedisClient, NodeRedisConnection>();

/**
 * The client as Sluice uses it: an ioredis client as it is, a node-redis
 * client wrapped (one wrapper per client, so the components sharing it also
 * share its close listener). Anything else is returned unchanged for the
 * caller's own check.
 */
export function toRedisClient(field: string, value: unknown): unknown {
  if (!isNodeRedis(value)) return value;
  refuseUnsupported(field, value);
  let wrapper = wrappers.get(value);
  if (!wrapper) {
    wrapper = new NodeRedisConnection(value);
    wrappers.set(value, wrapper);
  }
  return wrapper;
}

// RESP3 (node-redis 6's default) answers some commands with maps and doubles
// where RESP2 has arrays and strings. Maps come back as Map (turned into the
// RESP2 arrays below), doubles and strings as strings, whatever type mapping
// the user set on the client.
const TYPE_MAPPING: Record<number, unknown> = {
  37: Map, // %, map
  44: String, // ',', double
  36: String, // $, blob string
  43: String, // +, simple string
  61: String, // =, verbatim string
};
const COMMAND_OPTIONS = { typeMapping: TYPE_MAPPING };

// XREAD and XREADGROUP answer RESP2 with [[stream, entries], …]; every other map is a flat [key, value, …].
const PAIRED = new Set(['XREAD', 'XREADGROUP']);

/** A reply in its RESP2 shape: maps as arrays, booleans as 1 / null (as Lua's true / false reach a RESP2 client). */
function resp2(reply: unknown, paired: boolean): unknown {
  if (reply instanceof Map) {
    const out: unknown[] = [];
    for (const [k, v] of reply) {
      if (paired) out.push([k, resp2(v, false)]);
      else out.push(k, resp2(v, false));
    }
    return out;
  }
  if (Array.isArray(reply)) {
    for (let i = 0; i < reply.length; i++) {
      const item: unknown = reply[i];
      if (item !== null && typeof item === 'object' && !Buffer.isBuffer(item)) reply[i] = resp2(item, false);
      else if (typeof item === 'boolean') reply[i] = item ? 1 : null;
    }
    return reply;
  }
  if (typeof reply === 'boolean') return reply ? 1 : null;
  return reply;
}

/** A node-redis client seen as the ioredis members Sluice calls ({@link RedisConnection}). */
class NodeRedisConnection implements RedisConnection {
  private readonly messageListeners = new Set<(channel: string, message: string) => void>();
  private everReady: boolean;

  constructor(private readonly client: NodeRedisClient) {
    this.everReady = client.isReady;
    if (!this.everReady) {
      const onReady = (): void => {
        this.everReady = true;
        client.removeListener('ready', onReady);
      };
      client.on('ready', onReady);
    }
  }

  /**
   * ioredis's status words: `'ready'`; `'reconnecting'` when the link dropped
   * (node-redis queues commands until it is back); `'connecting'` before the
   * first connection; `'end'` when not open (never connected, or closed).
   */
  get status(): string {
    const c = this.client;
    if (c.isReady) {
      this.everReady = true;
      return 'ready';
    }
    if (!c.isOpen) return 'end';
    return this.everReady ? 'reconnecting' : 'connecting';
  }

  call(command: string, ...args: RedisArgument[]): Promise<unknown> {
    const list: (string | Buffer)[] = [command];
    for (const a of args) list.push(typeof a === 'number' ? String(a) : a);
    try {
      return this.client.sendCommand(list, COMMAND_OPTIONS).then((reply) => resp2(reply, PAIRED.has(command.toUpperCase())));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** node-redis's duplicate() is not connected: this one is, at once (commands queue until it is up). */
  duplicate(): RedisConnection {
    const copy = this.client.duplicate();
    copy.connect().catch(() => undefined); // failures reach the copy's 'error' listeners; commands on it fail or time out
    return new NodeRedisConnection(copy);
  }

  subscribe(...channels: string[]): Promise<unknown> {
    return this.client.subscribe(channels, this.onMessage);
  }

  unsubscribe(...channels: string[]): Promise<unknown> {
    return this.client.unsubscribe(channels, this.onMessage);
  }

  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown {
    if (event === 'message') this.messageListeners.add(listener);
    else if (event === 'close') {
      // node-redis says 'reconnecting' when a connection drops, 'end' when closed, 'terminated' when it gives up.
      for (const e of CLOSE_EVENTS) this.client.on(e, listener);
    } else this.client.on(event, listener);
    return this;
  }

  removeListener(event: 'message', listener: (channel: string, message: string) => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown {
    if (event === 'message') this.messageListeners.delete(listener);
    else if (event === 'close') for (const e of CLOSE_EVENTS) this.client.removeListener(e, listener);
    else this.client.removeListener(event, listener);
    return this;
  }

  disconnect(): void {
    const c = this.client;
    try {
      if (typeof c.destroy === 'function') c.destroy();
      else c.disconnect?.().catch(() => undefined);
    } catch {
      // already closed
    }
  }

  private readonly onMessage = (message: string, channel: string): void => {
    for (const listener of this.messageListeners) listener(channel, message);
  };
}

const CLOSE_EVENTS = ['reconnecting', 'end', 'terminated'];

