import type { ServerResponse } from 'node:http';
import { ClosedError } from '../../core/errors/index.js';
import type { ListNode, WaiterList } from '../../internal/waiter-list.js';

/**
 * One page listening to `/events`. A client never buffers more than the
 * transport's own high-water mark plus one message: while the transport
 * refuses more (a slow or stalled browser), snapshots for it are skipped, and
 * it receives the next one after the transport drained. Charts then show a
 * gap rather than the server holding a growing backlog per client.
 *
 * A client whose transport stays full is not reading: the server drops it
 * after `clientStallTimeoutMs` (see {@link stalledSince}), and picks the
 * stalest one to make room when every slot is taken.
 */
export abstract class SseClient implements ListNode<SseClient> {
  prev: SseClient | undefined;
  next: SseClient | undefined;
  linked: false | WaiterList<any> = false;
  /** Messages not sent to this client because its transport was full. */
  skipped = 0;
  /** Clock time at which the transport last refused more and has not drained since; NaN while it accepts. */
  stalledSince = NaN;

  constructor(protected readonly now: () => number) {}

  /** Sends one message unless the transport is full. @returns false when skipped. */
  abstract send(chunk: string): boolean;
  /** Ends the stream from the server's side. */
  abstract end(): void;
  /** Drops the connection at once, without waiting for buffered data to be read. */
  abstract destroy(): void;
  /** Bytes written and not yet taken by the transport (0 for a client that keeps up). */
  abstract pendingBytes(): number;

  protected markFull(): void {
    if (Number.isNaN(this.stalledSince)) this.stalledSince = this.now();
  }
}

export class NodeSseClient extends SseClient {
  // Full (waiting for 'drain') exactly while stalledSince is set.
  private readonly onDrain = (): void => {
    this.stalledSince = NaN;
  };

  constructor(
    private readonly res: ServerResponse,
    now: () => number,
  ) {
    super(now);
  }

  send(chunk: string): boolean {
    if (!Number.isNaN(this.stalledSince) || this.res.writableEnded || this.res.destroyed) {
      this.skipped++;
      return false;
    }
    if (!this.res.write(chunk)) {
      this.markFull();
      this.res.once('drain', this.onDrain);
    }
    return true;
  }

  end(): void {
    this.res.off('drain', this.onDrain);
    if (this.res.writableEnded) return;
    // An event stream's connection serves nothing after it, and a client that
    // does not read would otherwise keep it open: close it once the end is handed to the kernel.
    const socket = this.res.socket; // detached from the response by the time it finishes
    if (socket) this.res.once('finish', () => socket.destroy());
    this.res.end();
  }

  destroy(): void {
    this.res.off('drain', this.onDrain);
    // end() would wait for a reader that does not read; the socket must go now to free its slot.
    this.res.destroy();
  }

  pendingBytes(): number {
    return this.res.writableLength;
  }
}

const encoder = new TextEncoder();

/** Bytes a fetch-style stream may hold for a slow reader before snapshots are skipped. */
const FETCH_HIGH_WATER_BYTES = 64 * 1024;

export class FetchSseClient extends SseClient {
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private ended = false;
  readonly stream: ReadableStream<Uint8Array>;

  constructor(onCancel: (client: FetchSseClient) => void, now: () => number) {
    super(now);
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        cancel: () => {
          this.ended = true;
          onCancel(this);
        },
      },
      { highWaterMark: FETCH_HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
    );
  }

  send(chunk: string): boolean {
    const controller = this.controller;
    if (this.ended || !controller || (controller.desiredSize ?? 0) <= 0) {
      if (!this.ended) this.markFull();
      this.skipped++;
      return false;
    }
    this.stalledSince = NaN; // room again: the reader took what was queued
    controller.enqueue(encoder.encode(chunk));
    return true;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    try {
      this.controller?.close();
    } catch {
      // already closed or errored by the reader: nothing left to end
    }
  }

  destroy(): void {
    if (this.ended) return;
    this.ended = true;
    try {
      // Errors the body: the server adapter drops the connection instead of waiting for the queue to drain.
      // Coded: a reader of the body (a fetch() handler's caller) sees the dashboard closed this client's stream.
      this.controller?.error(new ClosedError('dashboard: client evicted'));
    } catch {
      // already closed
    }
  }

  pendingBytes(): number {
    const desired = this.controller?.desiredSize ?? 0;
    return Math.max(0, FETCH_HIGH_WATER_BYTES - desired);
  }
}
