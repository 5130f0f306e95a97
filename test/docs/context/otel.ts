// Placeholders for the sluice/otel examples: an OpenTelemetry Meter, as `metrics.getMeter(...)` returns it.
import type { Meter } from '@opentelemetry/api';

export declare const meter: Meter;
