#!/usr/bin/env node
// `npm test` runs this first, so the README's test command is the whole set-up
// on a fresh machine: it starts any local service that is down and installs
// Debian's Chromium for the dashboard's browser test (and tmux for the
// `sluice top` terminal test). Where it cannot (not
// root, no start command), it stops before any test with one line saying
// exactly what to run. Nothing here ever downloads a browser build.
//
// Usage: node scripts/ensure-env.mjs [--check]   (--check: report, change nothing)
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { spawnSync } from 'node:child_process';

const checkOnly = process.argv.includes('--check');
const isRoot = process.getuid?.() === 0;

/** The services the integration tests use, with the commands that start them on this kind of machine. */
const services = [
  {
    name: 'PostgreSQL',
    port: 5432,
    start: `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`,
    needs: 'pg_ctlcluster',
  },
  {
    name: 'Redis',
    port: 6379,
    start:
      'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
    needs: 'redis-server',
  },
  { name: 'RabbitMQ', port: 5672, start: 'rabbitmq-server -detached', needs: 'rabbitmq-server' },
  {
    name: 'NATS',
    port: 4222,
    start:
      'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log',
    needs: 'nats-server',
  },
];

// CHROMIUM_PATH points the browser test at another Chromium; Debian's is the default.
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function portOpen(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitForPort(port, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function fail(line) {
  console.error(`ensure-env: ${line}`);
  process.exit(1);
}

async function ensureService({ name, port, start, needs }) {
  if (await portOpen(port)) return `${name} :${port} up`;
  const howTo = `start ${name} on 127.0.0.1:${port}, e.g. as root: ${start}`;
  if (checkOnly || !isRoot || !has(needs)) fail(`${name} is not reachable on 127.0.0.1:${port}; ${howTo}`);
  console.log(`ensure-env: ${name} is down; starting it`);
  spawnSync('sh', ['-c', start], { stdio: 'inherit' });
  if (!(await waitForPort(port, 60))) fail(`${name} did not come up on 127.0.0.1:${port} within 60 s; ${howTo}`);
  return `${name} :${port} started`;
}

function ensureChromium() {
  if (existsSync(chromiumPath)) return 'chromium present';
  const howTo = process.env.CHROMIUM_PATH
    ? 'point CHROMIUM_PATH at a Chromium binary, or unset it to use Debian\'s /usr/bin/chromium'
    : 'run as root: apt-get update && apt-get install -y chromium';
  if (process.env.CHROMIUM_PATH || checkOnly || !isRoot || !has('apt-get')) fail(`${chromiumPath} is missing (the dashboard's browser test needs Debian's chromium); ${howTo}`);
  console.log('ensure-env: installing Debian chromium for the dashboard browser test');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install =
    update.status === 0 && spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (!install || install.status !== 0 || !existsSync(chromiumPath)) fail(`could not install chromium; ${howTo}`);
  return 'chromium installed';
}

/** tmux: test/cli/top.test.ts runs `sluice top` in a real 80x24 terminal (a tmux pane) and reads the screen back. */
function ensureTmux() {
  if (has('tmux')) return 'tmux present';
  const howTo = 'run as root: apt-get update && apt-get install -y tmux';
  if (checkOnly || !isRoot || !has('apt-get')) fail(`tmux is missing (the sluice top terminal test needs it); ${howTo}`);
  console.log('ensure-env: installing Debian tmux for the sluice top terminal test');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = spawnSync('apt-get', ['install', '-y', '-qq', 'tmux'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (install.status !== 0 || !has('tmux')) {
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const retry = update.status === 0 && spawnSync('apt-get', ['install', '-y', '-qq', 'tmux'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (!retry || retry.status !== 0 || !has('tmux')) fail(`could not install tmux; ${howTo}`);
  }
  return 'tmux installed';
}

const report = [];
for (const service of services) report.push(await ensureService(service));
report.push(ensureChromium());
report.push(ensureTmux());
console.log(`ensure-env: ${report.join(', ')}`);
