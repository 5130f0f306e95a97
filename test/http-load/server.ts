// Child-process entry for the load test: a node:http server on 127.0.0.1 whose
// handler burns `workMs` of CPU synchronously, optionally behind loadShed.
// It runs in its own process so the load generator does not share its event loop.
// Config arrives as JSON in argv[2]; the port and the final report go back over IPC.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventLoopDelay, eventLoopStall, eventLoopUtilization, type Pressure } from '../../src/core/pressure/index.js';
import { loadShed } from '../../src/adapters/http/index.js';

export type ServerPressure = 'none' | 'stall' | 'delay' | 'utilization';
export interface ServerConfig {
  pressure: ServerPressure;
  workMs: number;
  /** Threshold in ms for 'stall' and 'delay', a 0..1 fraction for 'utilization'. */
  threshold: number;
}
export interface ServerReport {
  served: number;
  shed: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;

function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

const handler: RequestListener = (_req, res) => {
  burn(config.workMs);
  res.end('ok');
};

function makePressure(): Pressure | undefined {
  switch (config.pressure) {
    case 'stall':
      return eventLoopStall({ thresholdMs: config.threshold });
    case 'delay':
      return eventLoopDelay({ thresholdMs: config.threshold, sampleIntervalMs: 50 });
    case 'utilization':
      return eventLoopUtilization({ threshold: config.threshold, sampleIntervalMs: 50 });
    default:
      return undefined;
  }
}

const pressure = makePressure();
const shed = pressure ? loadShed({ pressure }) : undefined;
const server = createServer({ keepAliveTimeout: 30_000 }, shed ? shed.node(handler) : handler);
server.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as AddressInfo).port });
});
process.on('message', (message: unknown) => {
  if (message !== 'close') return;
  pressure?.close?.();
  server.closeAllConnections();
  server.close(() => {
    const stats = shed?.stats();
    const report: ServerReport = { served: stats?.served ?? 0, shed: stats?.shed ?? 0 };
    process.send!({ report }, () => process.disconnect());
  });
});
