// What the app's build, its server, its tests and its benchmark share: the isolation headers, the shipped model's
// files, onnxruntime-web's files and the headless Chromium flags.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Cross-origin isolation (SharedArrayBuffer, threaded engines): every response of the app carries these. */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export const MODEL_DIR = 'models/fashion-mnist';

/** The shipped model, copied into the build from the CLI's assets. */
export const MODEL_FILES = ['var.safetensors', 'vae.safetensors'].map((name) => ({
  name,
  source: fileURLToPath(new URL(`../../../packages/cli/assets/fashion-mnist/${name}`, import.meta.url)),
}));

/**
 * onnxruntime-web's .wasm and the glue .mjs its threads' workers start from, for the 'onnx' engines (engine-onnx's
 * ORT_WEB_WASM_FILES), served by the app itself from ORT_DIR (ort.env.wasm.wasmPaths), copied from the
 * onnxruntime-web the app depends on: no CDN.
 */
export const ORT_DIR = 'ort';
export const ORT_FILES = ['ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.asyncify.mjs'].map(
  (name) => ({
    name,
    source: createRequire(import.meta.url).resolve(`onnxruntime-web/${name}`),
  }),
);

const CHROMIUM_COMMON = [
  '--headless',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/**
 * Headless Chromium for the tests and the benchmark. 'plain': no GPU, so no WebGPU adapter. 'webgpu': a WebGPU adapter
 * on SwiftShader, Chromium's CPU rasteriser (right for correctness, far too slow for timing).
 */
export const CHROMIUM_FLAGS = {
  plain: [...CHROMIUM_COMMON, '--disable-gpu'],
  webgpu: [
    ...CHROMIUM_COMMON,
    '--enable-unsafe-webgpu',
    '--use-webgpu-adapter=swiftshader',
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
  ],
};
