import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BreakerOpenError, ChannelClosedError, ClosedError, ErrorCode, NotFoundError, SluiceError } from './index.js';

describe('ClosedError', () => {
  it('ClosedError - coded ERR_SLUICE_CLOSED, a SluiceError, named ClosedError', () => {
    const error = new ClosedError('TokenBucket is closed');
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, ErrorCode.closed);
    assert.equal(error.name, 'ClosedError');
    assert.equal(error.message, 'TokenBucket is closed');
  });

  it('ChannelClosedError - the deprecated alias constructs a ClosedError, and instanceof works both ways', () => {
    const old = new ClosedError();
    assert.ok(old instanceof ClosedError);
    assert.ok(new ClosedError() instanceof ChannelClosedError);
    assert.equal(old.code, 'ERR_SLUICE_CLOSED');
  });
});

describe('NotFoundError', () => {
  it('NotFoundError - coded ERR_SLUICE_NOT_FOUND, a SluiceError named NotFoundError, keeps its cause', () => {
    const cause = new Error('ERR no such key');
    const error = new NotFoundError('Redis stream "orders" does not exist', { cause });
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'ERR_SLUICE_NOT_FOUND');
    assert.equal(error.code, ErrorCode.notFound);
    assert.equal(error.name, 'NotFoundError');
    assert.equal(error.cause, cause);
  });
});

describe('BreakerOpenError', () => {
  it('BreakerOpenError - coded ERR_SLUICE_BREAKER_OPEN, a SluiceError named BreakerOpenError, with its state and retryAfterMs', () => {
    const error = new BreakerOpenError('Circuit breaker "payments" is open', 'open', 1500);
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'ERR_SLUICE_BREAKER_OPEN');
    assert.equal(error.code, ErrorCode.breakerOpen);
    assert.equal(error.name, 'BreakerOpenError');
    assert.equal(error.state, 'open');
    assert.equal(error.retryAfterMs, 1500);
    assert.equal(new BreakerOpenError('full').state, 'open');
  });
});
