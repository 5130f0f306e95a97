// Placeholders for the Reactive Streams examples.
import type { Subscription } from 'sluice';

export declare const subscription: Subscription;
