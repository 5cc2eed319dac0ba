/** Messages between the page and the generation worker (structured-cloned; File objects travel as handles). */
import type { ModelEntry } from '@nextscale/hub/browser';

/** 'onnx' / 'onnx-webgpu': engine-onnx on onnxruntime-web with the wasm / WebGPU execution provider. */
export type EngineId = 'wasm' | 'js' | 'onnx' | 'onnx-webgpu';
/** 'norm': the norm policy over cpu (exact) and lowrank (certified), as the CLI; the others force one backend. */
export type BackendChoice = 'norm' | 'cpu' | 'lowrank' | 'gpu';

export interface GenerateSettings {
  /** Class index; numClasses means unconditional. */
  classIndex: number;
  batch: number;
  seed: number;
  cfg: number;
  topK: number;
  topP: number;
  moreSmooth: boolean;
  backend: BackendChoice;
  /** Target error of approximate attention (norm policy and lowrank). */
  epsilon: number;
  engine: EngineId;
  /** Decode f_hat after every scale for the coarse-to-fine preview. */
  preview: boolean;
}

export interface ModelInfo {
  /** 'shipped' or the two file names. */
  label: string;
  shipped: boolean;
  numClasses: number;
  classNames: string[] | null;
  patchNums: number[];
  imageSize: number;
  /** The model's own sampling defaults (safetensors metadata), where it has them. */
  defaults: Partial<Pick<GenerateSettings, 'cfg' | 'topK' | 'topP' | 'moreSmooth'>>;
}

/** B images of side×side, RGBA bytes each (alpha 255). */
export interface Images {
  side: number;
  rgba: Uint8ClampedArray[];
}

export interface TraceRow {
  site: string;
  layer: number | null;
  heads: string;
  backend: string;
  beta: number | null;
  betaSource: string | null;
  regime: string | null;
  /** Largest certified error over this head group's calls; null when every call was exact. */
  certifiedError: number | null;
  reason: string;
}

/** An edit: the picture at the model's size, the box (fractions of the side, y0,x0,y1,x1) and what to do with it. */
export type EditMode = 'inpaint' | 'outpaint';
export interface EditRequest {
  side: number;
  /** side × side RGBA, alpha ignored */
  rgba: Uint8ClampedArray;
  box: [number, number, number, number];
  mode: EditMode;
}

export interface EnvironmentReport {
  simd: boolean;
  crossOriginIsolated: boolean;
}

export type ToWorker =
  | { type: 'init'; modelBase: string; ortBase: string; env: EnvironmentReport }
  | { type: 'load-files'; files: File[] }
  | { type: 'use-shipped' }
  /** A released model by name: its files from the hub at `endpoint` (or the browser's cache), checked for fit with `engine` first. */
  | { type: 'load-hub'; entry: ModelEntry; endpoint: string; engine: EngineId; chunkBytes?: number }
  | { type: 'generate'; id: number; settings: GenerateSettings }
  | { type: 'edit'; id: number; settings: GenerateSettings; edit: EditRequest }
  | { type: 'cancel'; id: number }
  | { type: 'probe-gpu' };

export type FromWorker =
  | { type: 'model'; info: ModelInfo }
  | { type: 'model-error'; message: string }
  | { type: 'loading'; what: string }
  | { type: 'download'; file: string; loaded: number; total: number; rate: number; etaS: number | null }
  | { type: 'scale'; id: number; scale: number; scales: number; images: Images | null }
  | {
      type: 'done';
      id: number;
      images: Images;
      trace: TraceRow[];
      policy: string;
      engine: string;
      memory: string | null;
      ms: number;
      stages: { transformer: number; decode: number };
      kept?: { tokens: number; of: number };
    }
  | { type: 'cancelled'; id: number; scale: number }
  | { type: 'error'; id: number; message: string }
  | { type: 'gpu'; available: boolean; detail: string };
