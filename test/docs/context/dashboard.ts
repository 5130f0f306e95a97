// Placeholders for the sluice/dashboard examples.
import type { Hono } from 'hono';
import type { AlertMonitor } from 'sluice';
import type { DashboardHandler } from 'sluice/dashboard';

export declare const app: Hono;
export declare const dashboard: DashboardHandler;
export declare const monitor: AlertMonitor;
