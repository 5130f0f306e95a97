// Shared by the Redis tests (test/redis/*.test.ts).
// Tests talk to a real Redis: 127.0.0.1:6379 for the ordinary ones, a private
// redis-server on a random port for the ones that kill or freeze Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before } from 'node:test';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisClient } from '../../src/adapters/redis/index.js';

export const REDIS_PORT = Number(process.env.SLUICE_TEST_REDIS_PORT ?? 6379);

/** A connected client; errors are swallowed (the tests look at the components' stats and events). */
export async function connect(options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis({ host: '127.0.0.1', port: REDIS_PORT, ...options });
  redis.on('error', () => undefined);
  if (redis.status !== 'ready') await once(redis, 'ready');
  return redis;
}

/** A key prefix no other test (or run) uses. Braces are not allowed in Sluice keys, so none here. */
export function uniqueKey(name: string): string {
  return `sluice-test:${name}:${randomUUID().slice(0, 8)}`;
}

/** Deletes every key containing `fragment` (SCAN, never KEYS). */
export async function cleanup(redis: Redis, fragment: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${fragment}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/**
 * The setup most Redis test files share: one client, connected before the
 * file's tests, and every key under a prefix of its own deleted after them.
 * `redis` is read inside the tests (it is set by the `before` hook).
 */
export function redisForFile(name: string): { readonly redis: Redis; key: (suffix: string) => string } {
  let client: Redis | undefined;
  const prefix = uniqueKey(name);
  before(async () => {
    client = await connect();
  });
  after(async () => {
    if (client === undefined) return;
    await cleanup(client, prefix);
    client.disconnect();
  });
  return {
    get redis(): Redis {
      if (client === undefined) throw new Error('redisForFile(): the client is connected in a before() hook; read it inside a test');
      return client;
    },
    key: (suffix) => `${prefix}:${suffix}`,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!(await predicate())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return performance.now() - started;
}

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A redis-server of our own on a random port (20000–30000), so killing or
 * freezing it disturbs nobody else. No persistence: a restart starts empty.
 */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const server = await PrivateRedis.reserve();
    await server.restart();
    return server;
  }

  /** A free port with no server on it yet (Redis unreachable until {@link restart}). */
  static async reserve(): Promise<PrivateRedis> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = 20000 + Math.floor(Math.random() * 10000);
      if (await portIsFree(port)) return new PrivateRedis(port);
    }
    throw new Error('PrivateRedis: no free port found');
  }

  /** Starts (again) on the same port and waits until it answers. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('PrivateRedis: already running');
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = performance.now();
    while (!output.includes('Ready to accept connections')) {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      if (performance.now() - started > 5000) throw new Error(`redis-server did not start: ${output}`);
      await sleep(10);
    }
    child.stdout!.removeAllListeners('data');
    child.stderr!.removeAllListeners('data');
    child.stdout!.resume();
    child.stderr!.resume();
  }

  /** SIGKILL: the server vanishes, connections are reset. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }

  /** SIGSTOP: the server stays connected but answers nothing ("slow"). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async client(options: RedisOptions = {}): Promise<Redis> {
    const redis = this.connecting(options);
    if (redis.status !== 'ready') await once(redis, 'ready');
    return redis;
  }

  /** A client that keeps trying to connect every 50 ms, returned without waiting for it to succeed. */
  connecting(options: RedisOptions = {}): Redis {
    const redis = new Redis({ host: '127.0.0.1', port: this.port, retryStrategy: () => 50, ...options });
    redis.on('error', () => undefined);
    return redis;
  }
}

/**
 * The real client, with every command it is asked to send recorded: to count
 * round trips. Not a mock: the commands go to Redis.
 */
export function recording(redis: Redis): { client: RedisClient; commands: string[] } {
  const commands: string[] = [];
  const client: RedisClient = {
    get status() {
      return redis.status;
    },
    call(command, ...args) {
      commands.push(command);
      return redis.call(command, ...args);
    },
    duplicate: () => redis.duplicate(),
  };
  return { client, commands };
}

/** A fixture child process (`node --import tsx test/redis/<file>`), its stdout split into lines. */
export class Fixture {
  readonly lines: string[] = [];
  private buffer = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, newline));
        this.buffer = this.buffer.slice(newline + 1);
      }
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        if (code !== 0 && code !== null) console.error(`fixture exited with ${code}: ${stderr}`);
        resolve(code);
      }),
    );
  }

  static start(file: string, args: (string | number)[]): Fixture {
    const path = new URL(file, import.meta.url).pathname;
    return new Fixture(spawn(process.execPath, ['--import', 'tsx', path, ...args.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** Waits until a line equal to `line` has been printed. */
  waitForLine(line: string, timeoutMs: number): Promise<number> {
    return waitFor(() => this.lines.includes(line), timeoutMs, `fixture line "${line}"`);
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
