export declare const DEFAULT_DIR: string;
export declare function startServer(options?: {
  dir?: string;
  port?: number;
  host?: string;
  isolation?: boolean;
}): Promise<{ url: string; close(): Promise<void> }>;
