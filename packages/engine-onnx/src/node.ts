/**
 * The engine on onnxruntime-node, in this thread: the package's Node entry (the descriptor's `create`). Loading the
 * native addon is the availability check; its failure says why and how to fix it.
 */
import { createRequire } from 'node:module';
import { BlockRunner } from './block-runner.js';
import { OnnxDenseEngine } from './engine.js';
import { WINOGRAD_FROM_AREA } from './feature-net-graph.js';
import { Reclaimer } from './reclaim.js';
import { OrtSessions, type OrtLike } from './sessions.js';
import type { CpuSettings } from './session-options.js';

export const ORT_VERSION = '1.30.0';

const FIX = `reinstall it: \`pnpm install\` (or \`npm install --ignore-scripts @nextscale/engine-onnx\`); onnxruntime-node ${ORT_VERSION} ships its CPU binaries for linux x64/arm64, macOS and Windows`;

/** onnxruntime-node's entry as resolved from this package. */
export function resolveOrt(): string {
  return createRequire(import.meta.url).resolve('onnxruntime-node');
}

type OrtNode = OrtLike & { env?: { versions?: { node?: string } } };

/** Loads onnxruntime-node (from `entry`, default this package's); the reason says why it cannot (missing package, broken addon). */
export async function loadOrt(
  entry?: string,
): Promise<{ ok: true; version: string; ort: OrtNode } | { ok: false; reason: string }> {
  let path: string;
  try {
    path = entry ?? resolveOrt();
  } catch {
    return { ok: false, reason: `onnxruntime-node is not installed beside @nextscale/engine-onnx; ${FIX}` };
  }
  try {
    const mod = (await import(/* @vite-ignore */ path)) as OrtNode & { default?: OrtNode };
    const ort = mod.InferenceSession ? mod : (mod.default ?? mod);
    return { ok: true, version: ort.env?.versions?.node ?? 'unknown', ort };
  } catch (e) {
    const first = String((e as Error)?.message ?? e).split('\n')[0];
    return { ok: false, reason: `onnxruntime-node's native addon failed to load (${first}); ${FIX}` };
  }
}

/** The engine on onnxruntime-node's CPU execution provider. */
export async function createOnnxEngine(
  o: Partial<CpuSettings> & {
    threads: number;
    releaseWeights?: boolean;
    fusedBlocks?: boolean;
    /** Winograd convolutions in the feature nets (default on) from this map area on (default WINOGRAD_FROM_AREA). */
    winograd?: boolean;
    winogradFromArea?: number;
  },
): Promise<OnnxDenseEngine> {
  const r = await loadOrt();
  if (!r.ok) throw new Error(`engine-onnx: ${r.reason}`);
  const cpu: CpuSettings = {
    threads: o.threads,
    memArena: o.memArena ?? false,
    spinning: o.spinning ?? false,
    prepack: o.prepack ?? true,
  };
  const settings = { executionProviders: ['cpu'], cpu };
  const sessions = new OrtSessions(r.ort, settings, `onnxruntime-node ${r.version} cpu`);
  const reclaim = new Reclaimer();
  const blocks = (o.fusedBlocks ?? true) ? new BlockRunner(r.ort as never, settings, undefined, reclaim) : null;
  const winogradFromArea = (o.winograd ?? true) ? (o.winogradFromArea ?? WINOGRAD_FROM_AREA) : null;
  return new OnnxDenseEngine(sessions, o.threads, o.releaseWeights ?? true, blocks, winogradFromArea, reclaim);
}
