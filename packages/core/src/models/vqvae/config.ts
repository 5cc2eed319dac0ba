/**
 * The VQ-VAE hyper-parameters, read off the checkpoint's tensor shapes so that any VAR-style VQ-VAE
 * loads without code changes, followed by a strict check that the file has exactly the keys and shapes
 * the inferred model would have (PyTorch's `load_state_dict(strict=True)`).
 */
import { WeightsError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';

export interface VQVAEConfig {
  vocabSize: number;
  /** Latent channels (VAR's Cvae = z_channels). */
  Cvae: number;
  ch: number;
  chMult: number[];
  numResBlocks: number;
  usingSa: boolean;
  usingMidSa: boolean;
  /** K ≥ 2: K partially-shared Phis (`qresi_ls.{k}`); 1: one shared Phi (`qresi`); 0: one per entry (`quant_resi.{k}`). */
  shareQuantResi: number;
  /** Number of Phi convs in the file. */
  numPhi: number;
  /** Phi mixing ratio r in `(1−r)·h + r·conv(h)`; hard-coded in VAR's VQVAE. */
  quantResi: number;
  /** Scales the checkpoint was trained with (rows of the `quantize.ema_vocab_hit_SV` buffer). */
  numScales: number;
  /** Image channels (hard-coded 3 in VAR). */
  inChannels: number;
}

/** VAR's Normalize() is GroupNorm(32 groups, eps 1e-6). */
export const GROUP_NORM_GROUPS = 32;
export const GROUP_NORM_EPS = 1e-6;

const SHOWN = 10;

function listSome(keys: string[]): string {
  const head = keys.slice(0, SHOWN).join(', ');
  return keys.length > SHOWN ? `${head}, … (${keys.length} in all)` : head;
}

function shapeOf(tensors: Map<string, Tensor>, key: string, file: string): number[] {
  const t = tensors.get(key);
  if (!t) throw new WeightsError(file, `not a VAR VQ-VAE state dict: missing ${key}`);
  return t.shape;
}

/** Distinct integer indices `n` that appear as `${prefix}${n}.` in the keys. */
function indicesUnder(keys: string[], prefix: string): number[] {
  const found = new Set<number>();
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const m = /^(\d+)\./.exec(k.slice(prefix.length));
    if (m) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

/** 0..n−1 with no gaps, or a WeightsError (a gap means a truncated or foreign file). */
function contiguousCount(indices: number[], what: string, file: string): number {
  indices.forEach((v, i) => {
    if (v !== i)
      throw new WeightsError(file, `${what} indices are not 0..${indices.length - 1}: [${indices.join(', ')}]`);
  });
  return indices.length;
}

function inferShareQuantResi(keys: string[], file: string): { shareQuantResi: number; numPhi: number } {
  const partial = indicesUnder(keys, 'quantize.quant_resi.qresi_ls.');
  if (partial.length) {
    const K = contiguousCount(partial, 'quantize.quant_resi.qresi_ls', file);
    // share_quant_resi = 1 builds PhiShared, so a partially shared list always has K >= 2.
    if (K < 2) throw new WeightsError(file, `quantize.quant_resi.qresi_ls has ${K} Phi; VAR builds at least 2`);
    return { shareQuantResi: K, numPhi: K };
  }
  if (keys.some((k) => k.startsWith('quantize.quant_resi.qresi.'))) return { shareQuantResi: 1, numPhi: 1 };
  const perScale = indicesUnder(keys, 'quantize.quant_resi.');
  if (perScale.length) return { shareQuantResi: 0, numPhi: contiguousCount(perScale, 'quantize.quant_resi', file) };
  throw new WeightsError(
    file,
    'no quantize.quant_resi.* keys (a quant_resi of 0, i.e. identity Phis, is not supported)',
  );
}

/** Reads the hyper-parameters from the shapes; `validateVQVAEStateDict` then checks every key. */
export function inferVQVAEConfig(tensors: Map<string, Tensor>, file: string): VQVAEConfig {
  const keys = [...tensors.keys()];
  const [ch, inChannels] = shapeOf(tensors, 'encoder.conv_in.weight', file);
  const [vocabSize, Cvae] = shapeOf(tensors, 'quantize.embedding.weight', file);
  const [numScales] = shapeOf(tensors, 'quantize.ema_vocab_hit_SV', file);
  const levels = contiguousCount(indicesUnder(keys, 'encoder.down.'), 'encoder.down', file);
  if (levels === 0) throw new WeightsError(file, 'not a VAR VQ-VAE state dict: no encoder.down.* keys');
  const chMult = Array.from({ length: levels }, (_, i) => {
    const out = shapeOf(tensors, `encoder.down.${i}.block.0.conv1.weight`, file)[0];
    if (out % ch! !== 0)
      throw new WeightsError(file, `encoder.down.${i} has ${out} channels, not a multiple of ch=${ch}`);
    return out / ch!;
  });
  const numResBlocks = contiguousCount(indicesUnder(keys, 'encoder.down.0.block.'), 'encoder.down.0.block', file);
  const usingSa = keys.some((k) => k.startsWith(`encoder.down.${levels - 1}.attn.`));
  const usingMidSa = keys.some((k) => k.startsWith('encoder.mid.attn_1.'));
  return {
    vocabSize: vocabSize!,
    Cvae: Cvae!,
    ch: ch!,
    chMult,
    numResBlocks,
    usingSa,
    usingMidSa,
    ...inferShareQuantResi(keys, file),
    quantResi: 0.5,
    numScales: numScales!,
    inChannels: inChannels!,
  };
}

/**
 * Every key and shape of the state dict that VAR's VQVAE constructor would build for `cfg`, in the
 * official `state_dict()` order (parameters, then buffers, then children in registration order).
 */
export function vqvaeStateDictShapes(cfg: VQVAEConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const conv = (name: string, co: number, ci: number, k: number) => {
    out.set(`${name}.weight`, [co, ci, k, k]);
    out.set(`${name}.bias`, [co]);
  };
  const norm = (name: string, c: number) => {
    out.set(`${name}.weight`, [c]);
    out.set(`${name}.bias`, [c]);
  };
  const resnet = (name: string, cin: number, cout: number) => {
    norm(`${name}.norm1`, cin);
    conv(`${name}.conv1`, cout, cin, 3);
    norm(`${name}.norm2`, cout);
    conv(`${name}.conv2`, cout, cout, 3);
    if (cin !== cout) conv(`${name}.nin_shortcut`, cout, cin, 1);
  };
  const attn = (name: string, c: number) => {
    norm(`${name}.norm`, c);
    conv(`${name}.qkv`, 3 * c, c, 1);
    conv(`${name}.proj_out`, c, c, 1);
  };
  const mid = (prefix: string, c: number) => {
    resnet(`${prefix}.mid.block_1`, c, c);
    if (cfg.usingMidSa) attn(`${prefix}.mid.attn_1`, c);
    resnet(`${prefix}.mid.block_2`, c, c);
  };

  const { ch, chMult, numResBlocks, Cvae } = cfg;
  const n = chMult.length;
  const last = n - 1;

  conv('encoder.conv_in', ch, cfg.inChannels, 3);
  let cin = ch;
  for (let i = 0; i < n; i++) {
    const cout = ch * chMult[i];
    for (let j = 0; j < numResBlocks; j++) resnet(`encoder.down.${i}.block.${j}`, j === 0 ? cin : cout, cout);
    if (i === last && cfg.usingSa) for (let j = 0; j < numResBlocks; j++) attn(`encoder.down.${i}.attn.${j}`, cout);
    if (i !== last) conv(`encoder.down.${i}.downsample.conv`, cout, cout, 3);
    cin = cout;
  }
  mid('encoder', cin);
  norm('encoder.norm_out', cin);
  conv('encoder.conv_out', Cvae, cin, 3);

  const cMid = ch * chMult[last];
  conv('decoder.conv_in', cMid, Cvae, 3);
  mid('decoder', cMid);
  // The decoder's ModuleList is filled from the deepest level but indexed by level, so the keys of up.0 come first.
  const levelIn = (i: number) => (i === last ? cMid : ch * chMult[i + 1]);
  for (let i = 0; i < n; i++) {
    const cout = ch * chMult[i];
    for (let j = 0; j <= numResBlocks; j++) resnet(`decoder.up.${i}.block.${j}`, j === 0 ? levelIn(i) : cout, cout);
    if (i === last && cfg.usingSa) for (let j = 0; j <= numResBlocks; j++) attn(`decoder.up.${i}.attn.${j}`, cout);
    if (i !== 0) conv(`decoder.up.${i}.upsample.conv`, cout, cout, 3);
  }
  norm('decoder.norm_out', ch * chMult[0]);
  conv('decoder.conv_out', cfg.inChannels, ch * chMult[0], 3);

  out.set('quantize.ema_vocab_hit_SV', [cfg.numScales, cfg.vocabSize]);
  for (let k = 0; k < cfg.numPhi; k++) conv(phiKey(cfg, k), Cvae, Cvae, 3);
  out.set('quantize.embedding.weight', [cfg.vocabSize, Cvae]);
  conv('quant_conv', Cvae, Cvae, 3);
  conv('post_quant_conv', Cvae, Cvae, 3);
  return out;
}

/** State-dict prefix of Phi number k. */
export function phiKey(cfg: Pick<VQVAEConfig, 'shareQuantResi'>, k: number): string {
  if (cfg.shareQuantResi === 1) return 'quantize.quant_resi.qresi';
  if (cfg.shareQuantResi === 0) return `quantize.quant_resi.${k}`;
  return `quantize.quant_resi.qresi_ls.${k}`;
}

/** Strict load check: the exact key set, then every shape. Throws one WeightsError listing the problems. */
export function validateVQVAEStateDict(tensors: Map<string, Tensor>, cfg: VQVAEConfig, file: string): void {
  const expected = vqvaeStateDictShapes(cfg);
  const missing = [...expected.keys()].filter((k) => !tensors.has(k));
  const unexpected = [...tensors.keys()].filter((k) => !expected.has(k));
  if (missing.length || unexpected.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.length} key(s): ${listSome(missing)}`);
    if (unexpected.length) parts.push(`unexpected ${unexpected.length} key(s): ${listSome(unexpected)}`);
    throw new WeightsError(
      file,
      `VQ-VAE state dict does not match the inferred model (${describeConfig(cfg)}): ${parts.join('; ')}`,
    );
  }
  const wrong: string[] = [];
  for (const [key, shape] of expected) {
    const got = tensors.get(key)!.shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      wrong.push(`${key}: expected [${shape.join(', ')}], got [${got.join(', ')}]`);
    }
  }
  if (wrong.length) {
    const shown = wrong.slice(0, SHOWN).join('; ');
    const more = wrong.length > SHOWN ? ` … (${wrong.length} in all)` : '';
    throw new WeightsError(file, `VQ-VAE shape mismatch (${describeConfig(cfg)}): ${shown}${more}`);
  }
  const badNorm = [...expected.keys()].find(
    (k) => /norm(1|2|_out)?\.weight$/.test(k) && expected.get(k)![0] % GROUP_NORM_GROUPS !== 0,
  );
  if (badNorm) {
    throw new WeightsError(
      file,
      `${badNorm} has ${expected.get(badNorm)![0]} channels; GroupNorm(${GROUP_NORM_GROUPS}) needs a multiple of ${GROUP_NORM_GROUPS}`,
    );
  }
}

export function describeConfig(cfg: VQVAEConfig): string {
  return (
    `ch=${cfg.ch}, ch_mult=(${cfg.chMult.join(',')}), num_res_blocks=${cfg.numResBlocks}, Cvae=${cfg.Cvae}, V=${cfg.vocabSize}, ` +
    `share_quant_resi=${cfg.shareQuantResi}, using_sa=${cfg.usingSa}, using_mid_sa=${cfg.usingMidSa}`
  );
}
