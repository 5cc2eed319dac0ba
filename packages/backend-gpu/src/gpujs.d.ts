// gpu.js 2.24.1 ships its types at src/index.d.ts; this narrows what the backend uses.
declare module 'gpu.js' {
  export type KernelOutput = Float32Array | Promise<Float32Array>;
  export interface IKernelRunShortcut {
    (...args: unknown[]): KernelOutput;
    destroy?: (removeCanvasReferences?: boolean) => void;
  }
  export interface IPipelineRunShortcut {
    (...args: unknown[]): Promise<unknown>;
    /** The mode the plan's kernels actually executed in; null before the first call. */
    readonly backend: string | null;
    readonly pipeline: { executorKind: string; fallbackReason: string | null };
    destroy(): Promise<void>;
  }
  export class GPU {
    constructor(settings?: { mode?: string });
    readonly mode: string;
    Kernel: { mode: string; name: string };
    createKernel(fn: (...args: never[]) => number, settings: Record<string, unknown>): IKernelRunShortcut;
    createPipeline(fn: (...handles: never[]) => unknown, settings?: { threads?: boolean }): IPipelineRunShortcut;
    destroy(): Promise<void> | void;
    static readonly isWebGL2Supported: boolean;
    static readonly isHeadlessGLSupported: boolean;
    static readonly isWebAssemblySupported: boolean;
    static readonly isWebGPUSupported: boolean;
    static isWebGPUAvailable(): Promise<boolean>;
  }
}
