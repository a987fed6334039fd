export declare const NODE_FLAGS: string[];
export declare const ENV: Record<string, string>;
