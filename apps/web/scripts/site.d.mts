export declare const ISOLATION_HEADERS: Record<string, string>;
export declare const MODEL_DIR: string;
export declare const MODEL_FILES: { name: string; source: string }[];
export declare const ORT_DIR: string;
export declare const ORT_FILES: { name: string; source: string }[];
export declare const CHROMIUM_FLAGS: { plain: string[]; webgpu: string[] };
