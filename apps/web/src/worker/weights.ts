/**
 * Where the worker's weights come from: the shipped Fashion-MNIST model (fetched from the app's own
 * files), or a VAR checkpoint and its VQ-VAE opened from disk. Files are read through File.slice, one
 * range at a time (core's ByteSource), never as one buffer; which file is which is read from the keys in
 * its header before any tensor data.
 */
import {
  loadStateDictFromBytes,
  loadStateDictFromSource,
  openWeightsSource,
  type ByteSource,
  type StateDictFile,
} from '@nextscale/core/weights';

export interface Weights {
  label: string;
  shipped: boolean;
  var: StateDictFile;
  vae: StateDictFile;
}

/** A Blob (a picked File, or a model file assembled from Cache Storage) read one range at a time. */
export function blobSource(blob: Blob, name: string): ByteSource {
  return {
    name,
    size: blob.size,
    read: async (position, length) => new Uint8Array(await blob.slice(position, position + length).arrayBuffer()),
  };
}

export const fileSource = (file: File): ByteSource => blobSource(file, file.name);

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok)
    throw new Error(`could not fetch the shipped model (${url}: HTTP ${response.status}); reload the page`);
  return new Uint8Array(await response.arrayBuffer());
}

export async function shippedWeights(base: string): Promise<Weights> {
  const [v, q] = await Promise.all(
    ['var.safetensors', 'vae.safetensors'].map((f) => fetchBytes(new URL(f, base).href)),
  );
  return {
    label: 'Fashion-MNIST (shipped)',
    shipped: true,
    var: await loadStateDictFromBytes(v!, 'var.safetensors'),
    vae: await loadStateDictFromBytes(q!, 'vae.safetensors'),
  };
}

export type Kind = 'var' | 'vae';

/** VAR's transformer and the VQ-VAE by their official keys. */
export function kindOf(names: readonly string[]): Kind | null {
  const has = (k: string) => names.includes(k);
  if (has('word_embed.weight') && has('head.weight')) return 'var';
  if (has('quantize.embedding.weight') && names.some((n) => n.startsWith('decoder.'))) return 'vae';
  return null;
}

/** Opens the index of a picked file and says whether it is a VAR or a VQ-VAE checkpoint; throws a one-line message otherwise. */
export async function classify(file: File): Promise<Kind> {
  let reader: Awaited<ReturnType<typeof openWeightsSource>>;
  try {
    reader = await openWeightsSource(fileSource(file));
  } catch (err) {
    const m = (err as Error).message;
    throw new Error(
      /not a weights file/.test(m)
        ? `${m}; open a VAR checkpoint (var_d*.pth or .safetensors) and its VQ-VAE (vae_*.pth)`
        : m,
    );
  }
  try {
    const names = reader.tensors.map((t) => t.name);
    const kind = kindOf(names);
    if (kind) return kind;
    const shown = names.slice(0, 4).join(', ') + (names.length > 4 ? ', …' : '');
    throw new Error(
      `${file.name}: not a VAR checkpoint: a ${reader.format} file with ${names.length} tensor${names.length === 1 ? '' : 's'} (${shown || 'none'}) but neither VAR's word_embed/head nor the VQ-VAE's quantize/decoder keys; open a var_d*.pth and its vae_*.pth`,
    );
  } finally {
    await reader.close();
  }
}

/** Both halves read in full (tensor by tensor) once they are known. */
export async function fileWeights(varFile: File, vaeFile: File): Promise<Weights> {
  const [v, q] = [
    await loadStateDictFromSource(fileSource(varFile)),
    await loadStateDictFromSource(fileSource(vaeFile)),
  ];
  return { label: `${varFile.name} + ${vaeFile.name}`, shipped: false, var: v, vae: q };
}
