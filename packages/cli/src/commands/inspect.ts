/**
 * `nextscale inspect <file>` (or `--model <name>`): tensor names, dtypes, shapes and metadata; the inferred model config;
 * for an l2-normalised VAR, each head's static logit bound and what the norm policy would do with it.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { AttentionCall, AttentionPolicy, AvailableBackend, HeadGroupDecision } from '@nextscale/core';
import type { Context } from '../context.js';
import { inferConfig, normPolicy, openWeights, type TensorInfo, type WeightsReader } from '../core-api.js';
import { parseNumber, parsePatchNums } from '../config/resolve.js';
import { catalogue, downloadFile, findModel, hubSettings } from '@nextscale/hub';
import { usageError, weightsError } from '../errors.js';
import { withDownloadProgress } from '../output/download.js';
import { detectKind, patchNumsFromLevels, RELEASED_256, summarizeVAR, type ModelKind } from '../model/detect.js';
import { parseModelMetadata } from '../model/metadata.js';
import { writeJson } from '../output/json.js';
import { fmt, table } from '../output/table.js';
import { addCommonOptions, discover, readLayers, type CommonOptions, type Wrap } from './common.js';

interface InspectFlags extends CommonOptions {
  patchNums?: string;
  numHeads?: string;
  epsilon?: string;
  tensors?: boolean;
  model?: string;
}

export function inspectCommand(wrap: Wrap): Command {
  const cmd = new Command('inspect')
    .description('show the tensors, metadata, inferred config and per-head attention bounds of a weights file')
    .argument('[file]', '.pth or .safetensors weights')
    .option(
      '--model <name>',
      "inspect a released model's VAR file by name (downloaded into the Hugging Face cache if needed)",
    )
    .option(
      '--patch-nums <list>',
      'patch sizes per scale for the bounds table (default: from the weights, else the released 256-px schedule)',
    )
    .option('--num-heads <n>', 'attention heads, for a VAR whose attention is not l2-normalised')
    .option('--epsilon <x>', 'target attention error handed to the norm policy')
    .option('--no-tensors', 'leave out the tensor list (text output)');
  addCommonOptions(cmd);
  return cmd.action(wrap((ctx, flags: InspectFlags, file?: string) => runInspect(ctx, file, flags)));
}

/** The file argument, or the VAR file of --model (fetched with progress). */
async function fileToInspect(ctx: Context, file: string | undefined, flags: InspectFlags): Promise<string> {
  if (flags.model && file)
    throw usageError('both a file and --model are given', 'pass either a weights file or --model <name>');
  if (!flags.model) {
    if (!file)
      throw usageError(
        'no weights file given',
        "pass a .pth or .safetensors file, or --model <name> ('nextscale models' lists them)",
      );
    return file;
  }
  const entry = findModel(flags.model, catalogue(ctx.env));
  const got = await withDownloadProgress(ctx, (onEvent) =>
    downloadFile({
      repo: entry.repo,
      revision: entry.revision,
      file: entry.files.var,
      settings: hubSettings(ctx.env),
      signal: ctx.signal,
      onEvent,
    }),
  );
  return got.path;
}

export interface HeadRow {
  layer: number;
  head: number;
  scaleMul: number;
  beta: number;
  lnL: number;
  regime: 'subcritical' | 'critical';
  backend: string | null;
  reason: string;
  degree?: number;
  rank?: number;
  errBound?: number;
}

export async function runInspect(ctx: Context, fileArg: string | undefined, flags: InspectFlags): Promise<number> {
  // Flags are checked before any work, whether or not this file turns out to need them.
  const flagHeads =
    flags.numHeads !== undefined
      ? parseNumber(flags.numHeads, '--num-heads', { int: true, positive: true })
      : undefined;
  const flagEpsilon =
    flags.epsilon !== undefined ? parseNumber(flags.epsilon, '--epsilon', { positive: true }) : undefined;
  if (flags.patchNums !== undefined) parsePatchNums(flags.patchNums);
  const file = await fileToInspect(ctx, fileArg, flags);
  const abs = path.resolve(ctx.cwd, file);
  if (!existsSync(abs)) throw weightsError(`weights file ${abs} does not exist`, 'check the path');
  if (!statSync(abs).isFile()) throw weightsError(`${abs} is not a file`, 'pass a .pth or .safetensors file');
  const reader = await openWeights(abs, { signal: ctx.signal });
  try {
    const tensors = [...reader.tensors];
    const kind = detectKind(tensors.map((t) => t.name));
    const meta = parseModelMetadata(reader.metadata);
    const params = tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    let config: Record<string, unknown> | undefined;
    let configError: string | undefined;
    let attention: Record<string, unknown> | undefined;
    let heads: HeadRow[] = [];
    if (kind === 'vqvae') {
      try {
        config = inferConfig('vqvae', tensors, abs);
      } catch (err) {
        configError = (err as Error).message;
      }
    }
    if (kind === 'var') {
      const summary = summarizeVAR(tensors);
      const pn = await patchNumsFor(reader, flags, meta.patchNums, summary.L);
      const data = new Map<string, Float32Array>();
      if (reader.info('lvl_1L')) data.set('lvl_1L', await reader.read('lvl_1L'));
      try {
        const numHeads = flagHeads ?? meta.numHeads;
        config = inferConfig('var', tensors, abs, {
          metadata: reader.metadata,
          patchNums: pn.value,
          numHeads: summary.attnL2Norm ? undefined : numHeads,
          data,
        });
      } catch (err) {
        configError = (err as Error).message;
        config = { ...summary };
      }
      const L = pn.value.reduce((s, p) => s + p * p, 0);
      if (summary.attnL2Norm) {
        const layers = await readLayers(ctx, flags.config);
        const d = await discover(ctx, layers);
        const available = await d.registry.probeAll();
        const epsilon = flagEpsilon ?? layers.env.epsilon ?? layers.file.epsilon;
        const { kappa, gMax, rMax, betaCap } = layers.file;
        const policy = normPolicy({ epsilon, kappa, gMax, rMax, betaCap });
        const depth = typeof config['depth'] === 'number' ? config['depth'] : summary.depth;
        const headDim = typeof config['headDim'] === 'number' ? config['headDim'] : (summary.headDim ?? 64);
        heads = await headBounds(reader, depth, headDim, pn.value, policy, available, epsilon);
        attention = {
          l2Norm: true,
          patchNums: pn.value,
          patchNumsSource: pn.source,
          L,
          lnL: Math.log(L),
          policy: policy?.name ?? null,
          policyNote: policy ? undefined : 'this @nextscale/core has no norm policy; decisions are not shown',
          backends: available.map((a) => ({ id: a.descriptor.id, available: a.probe.available })),
          heads,
        };
      } else {
        attention = {
          l2Norm: false,
          patchNums: pn.value,
          L,
          note: 'attention is not l2-normalised: the logit bound is data-dependent and is measured per call at run time',
        };
      }
    } else if (kind === 'vqvae') {
      attention = {
        note: 'VQ-VAE attention (GroupNorm → 1×1 conv) is not l2-normalised: its bound is measured per call at run time',
      };
    }

    if (ctx.json) {
      writeJson(ctx.stdout, {
        command: 'inspect',
        file: abs,
        format: reader.format,
        fileSize: reader.fileSize,
        metadata: reader.metadata,
        kind,
        parameters: params,
        tensors: tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })),
        config: config ?? null,
        configError: configError ?? null,
        attention: attention ?? null,
      });
      return 0;
    }
    let text = `${abs}\n  format ${reader.format}, ${reader.fileSize.toLocaleString('en-US')} bytes, ${tensors.length} tensors, ${params.toLocaleString('en-US')} parameters\n`;
    text += `  detected: ${kindName(kind)}\n`;
    const metaKeys = Object.keys(reader.metadata);
    if (metaKeys.length) {
      text += '\nmetadata:\n';
      for (const k of metaKeys) text += `  ${k}: ${reader.metadata[k]}\n`;
    }
    if (flags.tensors !== false) {
      text +=
        '\n' +
        table(
          ['tensor', 'dtype', 'shape'],
          tensors.map((t: TensorInfo) => [t.name, t.dtype, `[${t.shape.join(', ')}]`]),
        );
    }
    if (config) {
      text += '\ninferred config:\n';
      for (const [k, v] of Object.entries(config))
        text += `  ${k}: ${Array.isArray(v) ? `[${v.join(', ')}]` : typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`;
    }
    if (configError) text += `\nconfig inference failed: ${configError}\n`;
    if (attention) {
      text += '\nattention:\n';
      if (attention['note']) text += `  ${attention['note']}\n`;
      if (heads.length) {
        text += `  patch nums ${(attention['patchNums'] as number[]).join(',')} (${attention['patchNumsSource']}), L = ${L_(attention)}, ln L = ${fmt(attention['lnL'] as number)}; β = exp(min(scale_mul, ln 100))\n`;
        if (attention['policyNote']) text += `  ${attention['policyNote']}\n`;
        text += table(
          [
            'layer',
            'head',
            'scale_mul',
            'beta',
            'ln L',
            'regime',
            'norm policy',
            'degree',
            'rank',
            'err bound',
            'reason',
          ],
          heads.map((h) => [
            h.layer,
            h.head,
            fmt(h.scaleMul),
            fmt(h.beta),
            fmt(h.lnL),
            h.regime,
            h.backend ?? '',
            h.degree,
            h.rank,
            fmt(h.errBound),
            h.reason,
          ]),
        );
      }
    }
    ctx.out(text);
    return 0;
  } finally {
    await reader.close();
  }
}

const L_ = (a: Record<string, unknown>) => String(a['L']);

function kindName(kind: ModelKind): string {
  return kind === 'var'
    ? 'VAR transformer'
    : kind === 'vqvae'
      ? 'VQ-VAE (multi-scale residual quantiser)'
      : 'unknown (neither VAR nor VQ-VAE keys)';
}

async function patchNumsFor(
  reader: WeightsReader,
  flags: InspectFlags,
  fromMeta: number[] | undefined,
  L: number | undefined,
): Promise<{ value: number[]; source: string }> {
  if (flags.patchNums) return { value: parsePatchNums(flags.patchNums), source: 'flag' };
  if (fromMeta) return { value: fromMeta, source: 'metadata' };
  if (reader.info('lvl_1L')) {
    const pn = patchNumsFromLevels(await reader.read('lvl_1L'));
    if (pn) return { value: pn, source: 'lvl_1L' };
  }
  const released = RELEASED_256.reduce((s, p) => s + p * p, 0);
  if (L === undefined || L === released)
    return { value: [...RELEASED_256], source: 'assumed: released 256-px schedule' };
  return { value: [...RELEASED_256], source: `assumed (pos_1LC has L = ${L}; pass --patch-nums)` };
}

async function headBounds(
  reader: WeightsReader,
  depth: number,
  headDim: number,
  patchNums: number[],
  policy: AttentionPolicy | undefined,
  available: AvailableBackend[],
  epsilon: number | undefined,
): Promise<HeadRow[]> {
  const ends: number[] = [];
  let acc = 0;
  for (const p of patchNums) ends.push((acc += p * p));
  const lnL = Math.log(acc);
  const rows: HeadRow[] = [];
  const call = (layer: number, heads: number, betas: number[]): AttentionCall => ({
    site: `var.blocks.${layer}.attn`,
    layer,
    batch: 1,
    heads,
    headDim,
    scale: 1,
    mask: 'block-causal',
    scaleEnds: ends,
    headBounds: betas.map((beta) => ({ beta, source: 'l2-static' as const })),
    epsilon,
  });
  for (let layer = 0; layer < depth; layer++) {
    const name = `blocks.${layer}.attn.scale_mul_1H11`;
    if (!reader.info(name)) continue;
    const sm = await reader.read(name);
    // A NaN scale would compare false with ln L and pass for "subcritical": it is a broken file.
    const bad = Array.from(sm).filter((x) => !Number.isFinite(x)).length;
    if (bad) {
      throw weightsError(
        `${reader.path}: tensor '${name}' (the attention scale of layer ${layer}) holds ${bad} non-finite value${bad === 1 ? '' : 's'} of ${sm.length}, so no logit bound exists`,
        'the weights are damaged or come from a diverged run: get the file again',
      );
    }
    const betas = Array.from(sm, (s) => Math.exp(Math.min(s, Math.log(100))));
    let decisions: HeadGroupDecision[] | undefined;
    let failure: string | undefined;
    if (policy) {
      try {
        decisions = policy.decide(call(layer, betas.length, betas), available);
      } catch (err) {
        failure = (err as Error).message;
      }
    }
    betas.forEach((beta, head) => {
      const block = decisions?.find((d) => d.heads.includes(head));
      // The block's decision groups heads and words its reason for the group's worst head; ask again
      // for this head alone so that its own β, degree and rank are the ones shown.
      let own: HeadGroupDecision | undefined;
      if (policy && block) {
        try {
          own = policy.decide(
            { ...call(layer, 1, [beta]), site: `var.blocks.${layer}.attn.head${head}` },
            available,
          )[0];
        } catch {
          own = undefined;
        }
      }
      const g = own && own.backend === block?.backend ? own : block;
      rows.push({
        layer,
        head,
        scaleMul: sm[head],
        beta,
        lnL,
        regime: beta >= lnL ? 'critical' : 'subcritical',
        backend: g?.backend ?? null,
        reason: g?.reason ?? failure ?? (policy ? 'no decision' : 'norm policy not available'),
        degree: g?.degree,
        rank: g?.rank,
        errBound: g?.errBound,
      });
    });
  }
  return rows;
}
