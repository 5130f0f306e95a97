// Placeholders for the CircuitBreaker examples.
import type { CircuitBreaker } from 'sluice';

export declare const breaker: CircuitBreaker;
