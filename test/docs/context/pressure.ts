// Placeholders for the pressure examples: a connection pool's counters.
export declare const pool: { busy: number; size: number };
