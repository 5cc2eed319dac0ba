/** The page's chunked SHA-256 (a download is hashed as it arrives) against Node's, at every padding boundary. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '../src/worker/sha256.js';

describe('Sha256', () => {
  it("equals node:crypto's digest for lengths around the 56/64-byte padding boundaries, fed in uneven pieces", () => {
    for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 100_003]) {
      const data = randomBytes(n);
      const h = new Sha256();
      for (let i = 0, k = 1; i < n; i += k, k = (k * 7) % 97 || 1) h.update(data.subarray(i, i + k));
      expect(h.hex(), `${n} bytes`).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });
});
