// gpu.js 2.24.1 ships its types at src/index.d.ts; this narrows what the backend uses.
declare module 'gpu.js' {
  export type KernelOutput = Float32Array | Promise<Float32Array>;
  export interface IKernelRunShortcut {
    (...args: unknown[]): KernelOutput;
    destroy?: (removeCanvasReferences?: boolean) => void;
  }
  export class GPU {
    constructor(settings?: { mode?: string });
    readonly mode: string;
    Kernel: { mode: string; name: string };
    createKernel(fn: (...args: never[]) => number, settings: Record<string, unknown>): IKernelRunShortcut;
    destroy(): Promise<void> | void;
    static readonly isWebGL2Supported: boolean;
    static readonly isHeadlessGLSupported: boolean;
    static readonly isWebAssemblySupported: boolean;
    static readonly isWebGPUSupported: boolean;
    static isWebGPUAvailable(): Promise<boolean>;
  }
}
