import { describe } from '../../internal/describe.js';

/** Stable error codes. Match on `error.code`, never on the message. */
export const ErrorCode = {
  overflow: 'ERR_SLUICE_OVERFLOW',
  closed: 'ERR_SLUICE_CLOSED',
  invalidOption: 'ERR_SLUICE_INVALID_OPTION',
  invalidItem: 'ERR_SLUICE_INVALID_ITEM',
  invalidArgument: 'ERR_SLUICE_INVALID_ARGUMENT',
  limitExceeded: 'ERR_SLUICE_LIMIT_EXCEEDED',
  /** A peer broke a protocol Sluice implements (a Reactive Streams rule). */
  protocol: 'ERR_SLUICE_PROTOCOL',
  /** What a component was pointed at (a stream, consumer group, queue, JetStream consumer) does not exist. */
  notFound: 'ERR_SLUICE_NOT_FOUND',
  /** A circuit breaker is open (or half-open with every probe out) and refused the call without running it. */
  breakerOpen: 'ERR_SLUICE_BREAKER_OPEN',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error Sluice throws on purpose. */
export class SluiceError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A full component refused an item under the `'reject'` strategy. */
export class OverflowError extends SluiceError {
  constructor(message = 'Channel is full (overflow: reject)') {
    super(ErrorCode.overflow, message);
  }
}

/** A limiter is at its limit and configured to refuse rather than wait. */
export class LimitExceededError extends SluiceError {
  constructor(message = 'Concurrency limit reached (whenFull: reject)') {
    super(ErrorCode.limitExceeded, message);
  }
}

/**
 * The component (a channel, limiter, writer, store, consumer…) was closed
 * before or while the call ran. Match on `error.code === 'ERR_SLUICE_CLOSED'`.
 */
export class ClosedError extends SluiceError {
  constructor(message = 'Component is closed') {
    super(ErrorCode.closed, message);
  }
}

/**
 * @deprecated Use {@link ClosedError}: every component that can be closed
 * throws it, not only channels. Kept as an alias, so `instanceof
 * ChannelClosedError` and `new ChannelClosedError()` still work (the instance
 * is a ClosedError, named 'ClosedError').
 */
export const ChannelClosedError = ClosedError;
/** @deprecated Use {@link ClosedError}. */
export type ChannelClosedError = ClosedError;

/**
 * An option failed validation: at construction, or in a per-call options
 * object (then the async method rejects with it before doing anything).
 * `field` names the option (for an unknown key, the key), `value` is what was
 * given, `allowed` describes what would be accepted.
 */
export class InvalidOptionError extends SluiceError {
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;
  /** `message` replaces the generated "Invalid option …" text (used for unknown keys). */
  constructor(field: string, value: unknown, allowed: string, detail?: string, message?: string) {
    super(
      ErrorCode.invalidOption,
      message ?? `Invalid option "${field}": got ${describe(value)}; expected ${allowed}${detail ? ` (${detail})` : ''}`,
    );
    this.field = field;
    this.value = value;
    this.allowed = allowed;
  }
}

/**
 * What a component was pointed at does not exist: a Redis stream or consumer
 * group, an AMQP queue, a JetStream stream or consumer. The broker lag sources
 * report it in `stats().lastError` (code `ERR_SLUICE_NOT_FOUND`) rather than
 * throwing, and keep polling, so the figure appears once the object is created.
 */
export class NotFoundError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.notFound, message, options);
  }
}

/**
 * A `CircuitBreaker` refused a call without running it: it is open, or
 * half-open with all its probes already out. `retryAfterMs` is how long until
 * it lets a probe through (0 when half-open: the next free probe slot).
 * Match on `error.code === 'ERR_SLUICE_BREAKER_OPEN'`.
 */
export class BreakerOpenError extends SluiceError {
  readonly state: 'open' | 'half-open';
  readonly retryAfterMs: number;
  constructor(message: string, state: 'open' | 'half-open' = 'open', retryAfterMs = 0) {
    super(ErrorCode.breakerOpen, message);
    this.state = state;
    this.retryAfterMs = retryAfterMs;
  }
}

/** An argument to a method (not an option) was out of range, e.g. `acquire(n)` with n > burst. */
export class InvalidArgumentError extends SluiceError {
  constructor(message: string) {
    super(ErrorCode.invalidArgument, message);
  }
}

/** `undefined` was offered as an item; it is reserved as the "closed" signal of `receive()`. */
export class InvalidItemError extends SluiceError {
  constructor(message = 'undefined cannot be sent: receive() uses undefined to mean "closed and empty"; send null or wrap the value') {
    super(ErrorCode.invalidItem, message);
  }
}

/**
 * Tags a built-in error with a Sluice code, as Node tags its own
 * (`ERR_INVALID_ARG_TYPE` is a TypeError). For the places where a protocol
 * asks for a built-in class: the Reactive Streams rules require a TypeError
 * (Java's NullPointerException) or a RangeError (IllegalArgumentException).
 * @internal
 */
export function withCode<E extends Error>(error: E, code: ErrorCode): E & { readonly code: ErrorCode } {
  return Object.assign(error, { code });
}
