import type { ServerResponse } from 'node:http';
import type { ListNode, WaiterList } from '../internal/waiter-list.js';

/**
 * One page listening to `/events`. A client never buffers more than the
 * transport's own high-water mark plus one message: while the transport
 * refuses more (a slow or stalled browser), snapshots for it are skipped, and
 * it receives the next one after the transport drained. Charts then show a
 * gap rather than the server holding a growing backlog per client.
 */
export abstract class SseClient implements ListNode<SseClient> {
  prev: SseClient | undefined;
  next: SseClient | undefined;
  linked: false | WaiterList<any> = false;
  /** Messages not sent to this client because its transport was full. */
  skipped = 0;

  /** Sends one message unless the transport is full. @returns false when skipped. */
  abstract send(chunk: string): boolean;
  /** Ends the stream from the server's side. */
  abstract end(): void;
}

export class NodeSseClient extends SseClient {
  private full = false;
  private readonly onDrain = (): void => {
    this.full = false;
  };

  constructor(private readonly res: ServerResponse) {
    super();
  }

  send(chunk: string): boolean {
    if (this.full || this.res.writableEnded || this.res.destroyed) {
      this.skipped++;
      return false;
    }
    if (!this.res.write(chunk)) {
      this.full = true;
      this.res.once('drain', this.onDrain);
    }
    return true;
  }

  end(): void {
    this.res.off('drain', this.onDrain);
    if (!this.res.writableEnded) this.res.end();
  }
}

const encoder = new TextEncoder();

/** Bytes a fetch-style stream may hold for a slow reader before snapshots are skipped. */
const FETCH_HIGH_WATER_BYTES = 64 * 1024;

export class FetchSseClient extends SseClient {
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private ended = false;
  readonly stream: ReadableStream<Uint8Array>;

  constructor(onCancel: (client: FetchSseClient) => void) {
    super();
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
      this.skipped++;
      return false;
    }
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
}
