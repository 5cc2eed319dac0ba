/**
 * `nextscale convert <in.pth> <out.safetensors>`: tensor by tensor (never the whole model in memory),
 * dtypes kept, written atomically, then verified by re-reading: the file's SHA-256 must equal the
 * digest of the bytes written, and every tensor must equal the source's bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { AbortedError, throwIfAborted } from '@nextscale/core';
import type { Context } from '../context.js';
import { safetensorsTempPath } from '@nextscale/core/weights';
import { openWeights, writeSafetensors, type SafetensorsEntry, type WeightsReader } from '../core-api.js';
import { gb } from '@nextscale/core';
import { trackTemporary } from '../signals.js';
import { usageError, weightsError } from '../errors.js';
import { writeError } from '../util/atomic.js';
import { writeJson } from '../output/json.js';
import { displayPath } from '../util/paths.js';
import { addCommonOptions, collect, type CommonOptions, type Wrap } from './common.js';

interface ConvertFlags extends CommonOptions {
  force?: boolean;
  metadata?: string[];
  verify?: boolean;
}

export function convertCommand(wrap: Wrap): Command {
  const cmd = new Command('convert')
    .description('convert a .pth checkpoint to .safetensors (streaming, dtypes kept, verified)')
    .argument('<in>', 'input weights (.pth, or .safetensors to rewrite)')
    .argument('<out>', 'output .safetensors')
    .option('-f, --force', 'overwrite the output if it exists')
    .option('--metadata <key=value>', 'add a safetensors __metadata__ entry (repeatable)', collect)
    .option('--no-verify', 'skip re-reading and comparing the output');
  addCommonOptions(cmd, { config: false });
  return cmd.action(
    wrap((ctx, flags: ConvertFlags, input: string, output: string) => runConvert(ctx, input, output, flags)),
  );
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function parseMetadata(pairs: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) throw usageError(`--metadata expects key=value, got '${p}'`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.byteLength === b.byteLength &&
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export async function runConvert(ctx: Context, input: string, output: string, flags: ConvertFlags): Promise<number> {
  const src = path.resolve(ctx.cwd, input);
  const dst = path.resolve(ctx.cwd, output);
  if (!existsSync(src)) throw weightsError(`input ${src} does not exist`, 'check the path');
  if (!statSync(src).isFile()) throw weightsError(`input ${src} is not a file`, 'pass a .pth or .safetensors file');
  if (src === dst) throw usageError('input and output are the same file', 'choose another output path');
  if (existsSync(dst) && !flags.force)
    throw usageError(`${dst} already exists`, 'pass --force to overwrite it, or choose another output path');
  if (!dst.endsWith('.safetensors')) ctx.warn(`${path.basename(dst)} does not end in .safetensors`);
  const extra = parseMetadata(flags.metadata);
  const cannotWrite = (err: unknown) =>
    writeError(
      dst,
      err,
      'choose an output path in a folder you can write',
      'free some space and run the same command again',
    );
  await fsp.mkdir(path.dirname(dst), { recursive: true }).catch((err) => {
    throw cannotWrite(err);
  });

  const reader = await openWeights(src, { signal: ctx.signal });
  const t0 = performance.now();
  let result: { path: string; bytes: number; sha256: string };
  let verified: { sha256: string; tensors: number } | undefined;
  try {
    const metadata = { ...(reader.format === 'safetensors' ? reader.metadata : { format: 'pt' }), ...extra };
    let done = 0;
    const total = reader.tensors.length;
    const entries: SafetensorsEntry[] = reader.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      data: async () => {
        throwIfAborted(ctx.signal);
        const bytes = await reader.readBytes(t.name);
        done++;
        if (ctx.verbose) ctx.stderr.write(`  ${done}/${total} ${t.name} ${t.dtype} [${t.shape.join(', ')}]\n`);
        return bytes;
      },
    }));
    await refuseWhatCannotFit(reader, dst);
    ctx.log(`converting ${total} tensors from ${src}`);
    const untrack = trackTemporary(safetensorsTempPath(dst));
    try {
      result = await writeSafetensors(dst, entries, Object.keys(metadata).length ? metadata : undefined, {
        signal: ctx.signal,
      });
    } catch (err) {
      if (ctx.signal.aborted) throw new AbortedError();
      // The folder, not the weights: a read-only or full output folder is the output path's problem.
      const cause = (err as { cause?: { code?: string } }).cause;
      if (typeof cause?.code === 'string' && /^E[A-Z]+$/.test(cause.code)) throw cannotWrite(cause);
      throw err;
    } finally {
      untrack();
    }
    if (flags.verify !== false) {
      try {
        verified = await verify(ctx, reader, dst, result.sha256);
      } catch (err) {
        await fsp.rm(dst, { force: true });
        throw err;
      }
    }
  } finally {
    await reader.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  if (ctx.json) {
    writeJson(ctx.stdout, {
      command: 'convert',
      input: src,
      output: result.path,
      format: reader.format,
      tensors: reader.tensors.length,
      bytes: result.bytes,
      sha256: result.sha256,
      verified: verified ? { sha256Match: true, tensorsEqual: verified.tensors } : null,
      seconds: Math.round(seconds * 1000) / 1000,
    });
  } else {
    ctx.out(
      `wrote ${displayPath(result.path, ctx.cwd)}: ${reader.tensors.length} tensors, ${result.bytes.toLocaleString('en-US')} bytes\n` +
        `sha256 ${result.sha256}${verified ? ` (verified: re-read digest matches, ${verified.tensors} tensors equal the source)` : ' (not verified)'}`,
    );
  }
  return 0;
}

/**
 * The output is about the size of the tensors' data (the readers refuse views that would expand
 * their storage, so this is bounded by the input's size): refuse before writing when the output's
 * file system has no room for it, instead of failing half-way.
 */
async function refuseWhatCannotFit(reader: WeightsReader, dst: string): Promise<void> {
  const bytes = reader.tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype], 0);
  let free: number | undefined;
  try {
    const st = await fsp.statfs(path.dirname(dst));
    free = st.bavail * st.bsize;
  } catch {
    free = undefined; // no statfs here: the write itself will report a full disk
  }
  if (free !== undefined && bytes > free) {
    throw usageError(
      `the output needs ${gb(bytes)} but ${path.dirname(dst)} has only ${gb(free)} free`,
      'free some space or choose an output path on another disk',
    );
  }
}

const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

async function verify(
  ctx: Context,
  source: WeightsReader,
  dst: string,
  written: string,
): Promise<{ sha256: string; tensors: number }> {
  const reread = await sha256File(dst);
  if (reread !== written) {
    throw weightsError(
      `verification failed: ${dst} reads back with SHA-256 ${reread}, but ${written} was written`,
      'the disk or filesystem corrupted the data; the output was removed',
    );
  }
  const out = await openWeights(dst, { signal: ctx.signal });
  try {
    if (out.tensors.length !== source.tensors.length) {
      throw weightsError(
        `verification failed: ${dst} has ${out.tensors.length} tensors, the source ${source.tensors.length}`,
        'the output was removed; please report this',
      );
    }
    for (const t of source.tensors) {
      throwIfAborted(ctx.signal);
      const o = out.info(t.name);
      if (!o || o.dtype !== t.dtype || o.shape.join() !== t.shape.join()) {
        throw weightsError(
          `verification failed: tensor '${t.name}' is ${o ? `${o.dtype} [${o.shape}]` : 'missing'} in the output, ${t.dtype} [${t.shape}] in the source`,
          'the output was removed; please report this',
        );
      }
      if (!sameBytes(await source.readBytes(t.name), await out.readBytes(t.name))) {
        throw weightsError(
          `verification failed: tensor '${t.name}' differs from the source`,
          'the output was removed; please report this',
        );
      }
    }
  } finally {
    await out.close();
  }
  return { sha256: reread, tensors: source.tensors.length };
}
