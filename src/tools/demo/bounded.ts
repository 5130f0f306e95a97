// The Sluice side of the demo: fleet → ingest Channel (the chosen strategy)
// → pipeline map stage → BatchWriter → SQLite. Memory is bounded by the
// channel's and the writer's capacities whatever the fleet does.
import { BatchWriter } from '../../core/batch-writer/index.js';
import { Channel, type OverflowStrategy } from '../../core/channel/index.js';
import type { Clock, TimerHandle } from '../../core/clock/index.js';
import { LatencyRecorder } from '../../core/metrics/index.js';
import { map, pipeline } from '../../core/pipeline/index.js';
import { TokenBucket } from '../../core/token-bucket/index.js';
import { DEFAULT_WRITER, type WriterSettings } from './config.js';
import { Fleet, type FleetShape, type LogLine } from './fleet.js';
import { SqliteLogSink } from './sink.js';

export interface BoundedSideOptions extends FleetShape {
  strategy: OverflowStrategy;
  capacity: number;
  maxBlockMs: number;
  sinkRowsPerSecond: number;
  clock: Clock;
  /** The ingest channel's watermarks and sampling (a config file's); the Channel defaults otherwise. */
  highWatermark?: number;
  lowWatermark?: number;
  sampleEvery?: number;
  /** The writer's settings; {@link DEFAULT_WRITER} otherwise. */
  writer?: WriterSettings;
  /** A TokenBucket on the fleet's intake (a config file's `rate_limits.intake`); none otherwise. */
  intake?: { ratePerSecond: number; burst: number | undefined };
}

/** Period of the fleet's ticks: each tick, every server ships what it has written since. */
const TICK_MS = 10;
/** Lines the writer buffers behind the channel (without a config file). */
export const WRITER_CAPACITY = DEFAULT_WRITER.capacity;
/** Lines per SQLite write (without a config file); one batch is in flight at a time, outside the writer's buffer. */
export const BATCH_SIZE = DEFAULT_WRITER.batchSize;
/** End-to-end latency buckets (ms): from a line being written on its server to its row committed. */
export const endToEndBucketsMs = [1, 2, 5, 10, 20, 50, 100, 200, 350, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000];

export class BoundedSide {
  readonly channel: Channel<LogLine>;
  readonly writer: BatchWriter<LogLine>;
  /** The intake rate limit, when the configuration has one. */
  readonly intake: TokenBucket | undefined;
  readonly writerSettings: WriterSettings;
  readonly sink: SqliteLogSink;
  readonly latency = new LatencyRecorder({ bucketsMs: endToEndBucketsMs });
  readonly fleet: Fleet;
  private readonly endToEnd = this.latency.histogram('sqlite-writer');
  /** From a server handing the line over to its row committed: the part the aggregator is responsible for. */
  readonly inAggregator = new LatencyRecorder({ bucketsMs: endToEndBucketsMs }).histogram('aggregator');
  private readonly clock: Clock;
  private readonly strategy: OverflowStrategy;
  private readonly shipped: Float64Array;
  private readonly waiting: Uint8Array;
  /** One callback per server, made once, so a blocked send allocates no closure. */
  private readonly resumers: (() => void)[];
  private readonly giveUps: (() => void)[];
  private waitingServers = 0;
  private onNoneWaiting: (() => void) | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private stoppedAtMs: number | undefined;
  private running: Promise<unknown> | undefined;
  private peakBuffered = 0;
  /** With an intake limit: the server the tokens ran out at, served first on the next tick (round robin). */
  private nextServer = 0;

  constructor(private readonly o: BoundedSideOptions) {
    this.clock = o.clock;
    this.strategy = o.strategy;
    this.fleet = new Fleet(o, o.clock.now());
    this.channel = new Channel<LogLine>({
      name: 'ingest',
      capacity: o.capacity,
      overflow: o.strategy,
      clock: o.clock,
      ...(o.strategy === 'block' ? { maxBlockMs: o.maxBlockMs } : {}),
      ...(o.highWatermark !== undefined ? { highWatermark: o.highWatermark } : {}),
      ...(o.lowWatermark !== undefined ? { lowWatermark: o.lowWatermark } : {}),
      ...(o.sampleEvery !== undefined ? { sampleEvery: o.sampleEvery } : {}),
    });
    this.intake = o.intake ? new TokenBucket({ ratePerSecond: o.intake.ratePerSecond, ...(o.intake.burst !== undefined ? { burst: o.intake.burst } : {}), clock: o.clock }) : undefined;
    const w = (this.writerSettings = o.writer ?? { ...DEFAULT_WRITER });
    this.sink = new SqliteLogSink({
      rowsPerSecond: o.sinkRowsPerSecond,
      // The store's write cost is sized once, for full batches of the initial size; a reloaded batch size pays it as a real store would.
      batchSize: w.batchSize,
      clock: o.clock,
      onCommitted: (rows, at) => {
        for (const row of rows) {
          this.endToEnd.record(Math.max(0, at - row.emittedAt));
          this.inAggregator.record(Math.max(0, at - row.shippedAt));
        }
      },
    });
    this.writer = new BatchWriter<LogLine>({
      name: 'sqlite-writer',
      ...w,
      clock: o.clock,
      flush: this.sink.write,
    });
    this.shipped = new Float64Array(o.servers);
    this.waiting = new Uint8Array(o.servers);
    this.resumers = Array.from({ length: o.servers }, (_, i) => () => this.resume(i, true));
    this.giveUps = Array.from({ length: o.servers }, (_, i) => () => this.resume(i, false));
  }

  /** Starts the fleet (its time 0 is now) and the pipeline. */
  start(): void {
    this.fleet.startAt = this.clock.now();
    this.running = pipeline(
      this.channel,
      // The aggregator's parse step: trims what the store does not keep.
      map((line: LogLine) => (line.message.length > 200 ? { ...line, message: line.message.slice(0, 200) } : line)),
      this.writer,
    );
    this.tick();
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.stopped) return;
    const elapsed = this.elapsedMs();
    if (this.intake === undefined) {
      for (let i = 0; i < this.fleet.servers; i++) if (this.waiting[i] === 0) this.ship(i, elapsed);
    } else {
      // Round robin from where the tokens ran out last time, so no server is always served last.
      const n = this.fleet.servers;
      const from = this.nextServer;
      for (let j = 0; j < n; j++) {
        const i = (from + j) % n;
        if (this.waiting[i] === 0 && !this.ship(i, elapsed)) {
          this.nextServer = i;
          break;
        }
      }
    }
    this.peakBuffered = Math.max(this.peakBuffered, this.bufferedNow());
    this.timer = this.clock.schedule(TICK_MS, this.tick);
  };

  elapsedMs(): number {
    return this.stoppedAtMs ?? this.clock.now() - this.fleet.startAt;
  }

  /**
   * Ships server `i`'s lines written by `elapsed`, until done or until it has
   * to wait. Returns false when the intake limit has no token left (the rest
   * stays on the server for the next tick).
   */
  private ship(i: number, elapsed: number): boolean {
    const due = this.fleet.due(i, elapsed);
    const channel = this.channel;
    const intake = this.intake;
    const now = this.clock.now();
    while (this.shipped[i]! < due) {
      if (intake !== undefined && !intake.tryAcquire()) return false;
      const line = this.fleet.line(i, this.shipped[i]!, now);
      if (this.strategy !== 'block') {
        try {
          channel.trySend(line); // a false return means dropped and counted by the channel
        } catch {
          // closed: counted by the channel as dropped, reason 'closed'
        }
        this.shipped[i]!++;
        continue;
      }
      if (channel.trySend(line)) {
        this.shipped[i]!++;
        continue;
      }
      // Full: this server waits (at most maxBlockMs) with the line in hand.
      this.waiting[i] = 1;
      this.waitingServers++;
      channel.send(line).then(this.resumers[i], this.giveUps[i]);
      return true;
    }
    return true;
  }

  /** A waiting server's send settled: the line is in, timed out, or refused at close (all counted). */
  private resume(i: number, keepShipping: boolean): void {
    this.shipped[i]!++;
    this.waiting[i] = 0;
    this.waitingServers--;
    if (keepShipping && !this.stopped) this.ship(i, this.elapsedMs());
    if (this.waitingServers === 0) this.onNoneWaiting?.();
  }

  /**
   * Stops the fleet: after a last pass, no server writes or ships another line.
   * Servers waiting to hand over a line keep waiting (up to maxBlockMs) so their line is not lost.
   */
  stop(): void {
    if (this.stopped) return;
    // A last pass: every server ships what it wrote up to now, unless it is waiting.
    const elapsed = this.running ? this.clock.now() - this.fleet.startAt : 0;
    if (this.running) for (let i = 0; i < this.fleet.servers; i++) if (this.waiting[i] === 0) this.ship(i, elapsed);
    this.stoppedAtMs = elapsed;
    this.stopped = true;
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
  }

  /**
   * After {@link stop}: waits for the waiting servers, closes the channel and waits until every line is in SQLite.
   *
   * Abort safety: takes no signal; {@link close} ends a drain early (the pipeline then rejects).
   */
  async drain(): Promise<void> {
    this.stop();
    if (this.waitingServers > 0) await new Promise<void>((resolve) => (this.onNoneWaiting = resolve));
    this.channel.close();
    await this.running;
  }

  /** Lines buffered now: in the channel, in the writer's buffer, in flight to SQLite. */
  bufferedNow(): number {
    const w = this.writer.stats();
    return this.channel.size + w.buffered + w.inFlight;
  }

  get peakQueued(): number {
    return Math.max(this.peakBuffered, this.bufferedNow());
  }

  get waitingNow(): number {
    return this.waitingServers;
  }

  /** Lines the servers have written so far (or by the stop). */
  generated(): number {
    return this.fleet.total(this.elapsedMs());
  }

  /** Lines handed to the channel or given up on, per the channel's accounting plus waiting servers. */
  shippedTotal(): number {
    let sum = 0;
    for (let i = 0; i < this.shipped.length; i++) sum += this.shipped[i]!;
    return sum;
  }

  /** The fleet as a dashboard component. */
  get fleetSource() {
    return {
      description: `${this.o.servers.toLocaleString('en-US')} simulated servers. In: lines they write; out: lines they ship. Queued: written but not shipped yet, kept in their own log files.`,
      stats: () => {
        const elapsed = this.elapsedMs();
        const generated = this.generated();
        const shipped = this.shippedTotal();
        return {
          kind: 'log fleet',
          phase: this.stopped ? 'stopped' : this.fleet.phaseAt(elapsed),
          offered: generated,
          delivered: shipped,
          size: generated - shipped,
          gauges: { 'servers waiting': this.waitingServers },
        };
      },
    };
  }

  /** The ingest channel as a dashboard component. */
  get ingestSource() {
    const c = this.channel;
    const wait = this.strategy === 'block' ? ` (a server waits at most ${this.o.maxBlockMs / 1000} s per line)` : '';
    // Getters: a config reload may resize the channel or move its watermarks.
    return {
      stats: () => c.stats(),
      get highWatermark() {
        return c.highWatermark;
      },
      get lowWatermark() {
        return c.lowWatermark;
      },
      onReconfigure: c.onReconfigure.bind(c),
      get description() {
        return `Sluice Channel in front of the aggregator: capacity ${c.capacity.toLocaleString('en-US')}, overflow '${c.overflow}'${wait}.`;
      },
    };
  }

  /** The intake rate limit as a dashboard component, when there is one. */
  get intakeSource() {
    const bucket = this.intake;
    if (bucket === undefined) return undefined;
    return {
      stats: () => bucket.stats(),
      onReconfigure: bucket.onReconfigure.bind(bucket),
      get description() {
        return `TokenBucket on the fleet's intake (rate_limits.intake): servers hand over at most ${bucket.ratePerSecond.toLocaleString('en-US')} lines/s; the rest waits on them.`;
      },
    };
  }

  /** The writer as a dashboard component, with its channel's default watermarks. */
  get writerSource() {
    const writer = this.writer;
    const w = this.writerSettings;
    const rows = this.o.sinkRowsPerSecond.toLocaleString('en-US');
    return {
      stats: () => writer.stats(),
      highWatermark: w.highWatermark ?? 0.8,
      lowWatermark: w.lowWatermark ?? 0.2,
      onReconfigure: writer.onReconfigure.bind(writer),
      // A getter: a config reload may change the batch size.
      get description() {
        return `BatchWriter into SQLite (temp file): batches of up to ${writer.batchSize}, buffer ${w.capacity.toLocaleString('en-US')}, sink ~${rows} rows/s. Latency: from a line written on its server to its row committed.`;
      },
    };
  }

  /**
   * Tears everything down at once (after a drain, or on abort): what is still
   * buffered is dropped and counted by the writer (reason 'aborted'), and the
   * database is deleted.
   */
  close(): void {
    this.stop();
    this.channel.close();
    // The pipeline rejects once the writer is aborted; that is the expected end of a teardown.
    this.running?.catch(() => undefined);
    this.writer.abort(new Error('demo closed'));
    this.intake?.close();
    this.sink.close();
  }
}
