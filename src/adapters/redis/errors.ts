import { LimitExceededError } from '../../core/errors/index.js';

/**
 * Redis did not answer in time, or answered with an error, and the component
 * is configured to refuse (`fallback: 'fail-closed'`), or the call has no
 * local answer (e.g. `PressureCoordinator.globalPressure()`).
 *
 * It extends {@link LimitExceededError} (code `ERR_SLUICE_LIMIT_EXCEEDED`)
 * because a fail-closed refusal is a limiter saying no: code that already backs
 * off on that error does the right thing. `cause` holds what Redis did
 * (a timeout or the client's error).
 */
export class RedisUnavailableError extends LimitExceededError {
  constructor(message: string, cause?: unknown) {
    super(message);
    if (cause !== undefined) Object.defineProperty(this, 'cause', { value: cause, configurable: true, writable: true });
  }
}

/** A command got no reply within `timeoutMs`. Appears as the `cause` of degradations and of {@link RedisUnavailableError}. */
export class RedisTimeoutError extends RedisUnavailableError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}
