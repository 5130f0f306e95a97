// Placeholders for the stream-policy examples: market data streams and a request.
export declare const prices: AsyncIterable<number>;
export declare const quotes: AsyncIterable<{ symbol: string; price: number }>;
export declare const render: (quote: { symbol: string; price: number }) => void;
export declare const request: Request;
