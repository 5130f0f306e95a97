/**
 * Private service instances for the chaos harness: a redis-server, a
 * PostgreSQL cluster (initdb + postgres, run as the `postgres` user when the
 * harness runs as root) and a nats-server with JetStream, each on its own
 * port and data directory under a temp folder. Never the machine's shared
 * services. Each runs in its own process group, so a freeze (SIGSTOP) or a
 * kill (SIGKILL) reaches every process of the service (PostgreSQL backends too).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export type ServiceName = 'redis' | 'postgres' | 'nats';

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts a TCP connection on `port`, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = join(base, v, 'bin', name);
    if (existsSync(p)) return p;
  }
  throw new Error(`PostgreSQL binary ${name} not found under ${base}/*/bin`);
}

function which(bin: string, fallbacks: string[]): string {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  const found = r.stdout.trim();
  if (found) return found;
  const hit = fallbacks.find((f) => existsSync(f));
  if (!hit) throw new Error(`${bin} not found`);
  return hit;
}

/** uid/gid of the `postgres` user, for running PostgreSQL when the harness is root. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('running as root needs a "postgres" user to run a private PostgreSQL');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/**
 * One private service: start() spawns it detached (its own process group),
 * freeze()/thaw() send SIGSTOP/SIGCONT to the group, kill() sends SIGKILL to
 * the group and waits for the exit; start() again restarts it on the same
 * port and data directory.
 */
export class PrivateService {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  frozen = false;
  log = '';
  /** Exits the harness did not cause (kill()/stop()). */
  unexpectedExits: string[] = [];
  private expectingExit = false;

  constructor(
    readonly name: ServiceName,
    readonly port: number,
    private readonly command: string,
    private readonly args: string[],
    private readonly spawnOptions: { uid?: number; gid?: number; cwd?: string } = {},
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    if (this.child) return;
    const child = spawn(this.command, this.args, { ...this.spawnOptions, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.expectingExit = false;
    const keep = (chunk: Buffer) => { this.log = (this.log + chunk.toString()).slice(-20_000); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        if (!this.expectingExit) this.unexpectedExits.push(`${this.name} exited (code ${code}, signal ${signal}) at ${new Date().toISOString()}`);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    child.once('error', (e) => { this.log += `\nspawn error: ${e.message}`; });
    // If the harness process ends without cleanup (a crash, a test timeout), take the service down with it.
    const reap = () => {
      try {
        if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
          process.kill(-child.pid, 'SIGCONT');
          process.kill(-child.pid, 'SIGKILL');
        }
      } catch {
        // already gone
      }
    };
    process.on('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    await Promise.race([
      waitForPort(this.port, timeoutMs),
      this.exited.then(() => { throw new Error(`${this.name} exited during start:\n${this.log.slice(-2000)}`); }),
    ]);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  freeze(): void {
    if (!this.child || this.frozen) return;
    this.signalGroup('SIGSTOP');
    this.frozen = true;
  }

  thaw(): void {
    if (!this.frozen) return;
    this.signalGroup('SIGCONT');
    this.frozen = false;
  }

  /** SIGKILL to the whole process group; resolves when the main process has exited. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.expectingExit = true;
    this.signalGroup('SIGKILL');
    this.frozen = false;
    await this.exited;
    // PostgreSQL backends are in the same group; give the kernel a moment to reap them before a restart.
    await new Promise((r) => setTimeout(r, 100));
  }

  /** SIGTERM (then SIGKILL after 5 s) to the group, for the end of the run. */
  async stop(): Promise<void> {
    if (!this.child) return;
    this.expectingExit = true;
    if (this.frozen) this.thaw();
    this.signalGroup('SIGTERM');
    const t = setTimeout(() => this.signalGroup('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

export interface Services {
  redis: PrivateService;
  postgres: PrivateService;
  nats: PrivateService;
  dir: string;
}

/** Creates (does not start) the three private services, with data under `dir`. */
export async function createServices(dir: string): Promise<Services> {
  const [redisPort, pgPort, natsPort] = [await freePort(), await freePort(), await freePort()];

  const redis = new PrivateService('redis', redisPort, which('redis-server', ['/usr/bin/redis-server']), [
    '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
  ]);

  const pgData = join(dir, 'pgdata');
  const user = postgresUser();
  mkdirSync(pgData, { recursive: true });
  chmodSync(pgData, 0o700);
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(pgData, user.uid, user.gid);
  }
  const init = spawnSync(pgBin('initdb'), ['-D', pgData, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], {
    encoding: 'utf8', ...(user ?? {}), cwd: dir,
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  // fsync=off: a killed postgres loses nothing the kernel already has (only a machine crash would); it keeps the run fast.
  const postgres = new PrivateService('postgres', pgPort, pgBin('postgres'), [
    '-D', pgData, '-p', String(pgPort), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off',
    '-c', 'max_connections=50', '-c', 'shared_buffers=32MB',
  ], { ...(user ?? {}), cwd: dir });

  const natsDir = join(dir, 'nats');
  mkdirSync(natsDir, { recursive: true });
  const nats = new PrivateService('nats', natsPort, which('nats-server', ['/usr/sbin/nats-server', '/usr/bin/nats-server']), [
    '-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', natsDir,
  ]);
  return { redis, postgres, nats, dir };
}
