import { describe, expect, it } from 'vitest';
import { fixture, run, runJson } from '../test-support.js';

interface InspectDoc {
  kind: string;
  format: string;
  tensors: { name: string; dtype: string; shape: number[] }[];
  metadata: Record<string, string>;
  config: Record<string, unknown>;
  attention: {
    l2Norm: boolean;
    L: number;
    lnL: number;
    patchNums: number[];
    policy: string;
    heads: {
      layer: number;
      head: number;
      scaleMul: number;
      beta: number;
      lnL: number;
      regime: string;
      backend: string;
      reason: string;
    }[];
  };
}

describe('nextscale inspect', () => {
  for (const ext of ['safetensors', 'pth']) {
    it(`shows per-head β, regime and the norm policy's decision for the tiny VAR (.${ext})`, () => {
      const { result, doc } = runJson<InspectDoc>(['inspect', fixture(`var.${ext}`)]);
      expect(result.status).toBe(0);
      expect(doc.kind).toBe('var');
      expect(doc.format).toBe(ext);
      expect(doc.tensors).toHaveLength(38);
      expect(doc.tensors.find((t) => t.name === 'lvl_1L')).toEqual({ name: 'lvl_1L', dtype: 'I64', shape: [1, 30] });
      expect(doc.attention.l2Norm).toBe(true);
      expect(doc.attention.patchNums).toEqual([1, 2, 3, 4]);
      expect(doc.attention.L).toBe(30);
      expect(doc.attention.heads).toHaveLength(2 * 4);
      for (const h of doc.attention.heads) {
        expect(h.beta).toBeCloseTo(Math.exp(Math.min(h.scaleMul, Math.log(100))), 6);
        expect(h.lnL).toBeCloseTo(Math.log(30), 12);
        expect(h.regime).toBe(h.beta >= Math.log(30) ? 'critical' : 'subcritical');
        expect(h.backend).toBe('cpu');
        expect(h.reason).toMatch(/ln L|critical/);
      }
      expect(doc.attention.heads.map((h) => [h.layer, h.head])).toEqual(
        [0, 1].flatMap((l) => [0, 1, 2, 3].map((h) => [l, h])),
      );
    });
  }

  it('prints the bound table, the inferred config and the tensor list as text', () => {
    const r = run(['inspect', fixture('var.safetensors')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/detected: VAR transformer/);
    expect(r.stdout).toMatch(/^blocks\.0\.attn\.scale_mul_1H11\s+F32\s+\[1, 4, 1, 1\]/m);
    expect(r.stdout).toMatch(/^layer\s+head\s+scale_mul\s+beta\s+ln L\s+regime\s+norm policy/m);
    expect(r.stdout).toMatch(/^0\s+0\s+\S+\s+\S+\s+3\.401\s+(critical|subcritical)\s+cpu/m);
  });

  it('re-decides with the schedule given by --patch-nums (a longer pyramid is subcritical)', () => {
    const { doc } = runJson<InspectDoc>(['inspect', fixture('var.pth'), '--patch-nums', '1,2,3,4,5,6,8,10,13,16']);
    expect(doc.attention.L).toBe(680);
    expect(doc.attention.heads.every((h) => h.regime === 'subcritical')).toBe(true);
  });

  it('recognises a VQ-VAE and says its attention bound is measured at run time', () => {
    const { result, doc } = runJson<InspectDoc & { attention: { note: string } }>(['inspect', fixture('vae.pth')]);
    expect(result.status).toBe(0);
    expect(doc.kind).toBe('vqvae');
    expect(doc.attention.note).toMatch(/measured per call/);
  });
});
