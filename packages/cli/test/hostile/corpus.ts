/**
 * The hostile and broken inputs, built in code (nothing binary is committed): .pth archives cut at
 * every structure, damaged central directories, zip bombs, pickles that try to run code or nest
 * without end, legacy torch files, bad safetensors, wrong or non-finite state dicts, bad config
 * files. Each is a file in `dir` plus the command line to run on it and what must come back.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { PickleWriter, buildCheckpoint, buildZip, f32Bytes, stateDictPickle } from '@nextscale/core/testing';

export const SHIPPED = path.resolve(import.meta.dirname, '..', '..', 'assets', 'fashion-mnist');

export interface Case {
  id: string;
  argv: string[];
  exit: number;
  /** The single stderr line must match. */
  line: RegExp;
  env?: Record<string, string>;
}

/** One small, valid checkpoint: w (2×2 F32) and b (2 F32). */
export function validCheckpoint(): Uint8Array {
  const pkl = stateDictPickle([
    {
      name: 'w',
      storageType: 'FloatStorage',
      storageKey: '0',
      storageNumel: 4,
      offset: 0,
      shape: [2, 2],
      stride: [2, 1],
    },
    { name: 'b', storageType: 'FloatStorage', storageKey: '1', storageNumel: 2, offset: 0, shape: [2], stride: [1] },
  ]);
  return buildCheckpoint('archive', pkl, { '0': f32Bytes([1, 2, 3, 4]), '1': f32Bytes([5, 6]) });
}

const sigs = { local: [0x50, 0x4b, 0x03, 0x04], central: [0x50, 0x4b, 0x01, 0x02], eocd: [0x50, 0x4b, 0x05, 0x06] };
function offsetsOf(bytes: Uint8Array, sig: number[]): number[] {
  const b = Buffer.from(bytes);
  const out: number[] = [];
  for (let at = b.indexOf(Buffer.from(sig)); at >= 0; at = b.indexOf(Buffer.from(sig), at + 1)) out.push(at);
  return out;
}

/** A pickle that, if it ran, would create `marker` (os.system / subprocess / eval / exec). */
function codeRunningPickles(marker: string): Record<string, Uint8Array> {
  const sh = `touch ${marker}`;
  const p = () => new PickleWriter().proto(2);
  return {
    'global-reduce-os-system': p().global('os', 'system').mark().str(sh).tuple().reduce().stop().bytes(),
    'global-reduce-posix-system': p().global('posix', 'system').mark().str(sh).tuple().reduce().stop().bytes(),
    'global-reduce-subprocess': p()
      .global('subprocess', 'check_call')
      .mark()
      .mark()
      .str('touch')
      .str(marker)
      .raw(0x6c)
      .tuple()
      .reduce()
      .stop()
      .bytes(),
    'stack-global-eval': new PickleWriter()
      .proto(4)
      .raw(0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93)
      .mark()
      .str(`__import__('os').system('${sh}')`)
      .tuple()
      .reduce()
      .stop()
      .bytes(),
    'global-exec': p()
      .global('builtins', 'exec')
      .mark()
      .str(`import os; os.system('${sh}')`)
      .tuple()
      .reduce()
      .stop()
      .bytes(),
    'inst-os-system': p().mark().str(sh).raw(0x69, 'os\nsystem\n').stop().bytes(),
    'obj-os-system': p().mark().global('os', 'system').str(sh).raw(0x6f).stop().bytes(),
    'newobj-popen': p().global('subprocess', 'Popen').mark().str(sh).tuple().raw(0x81).stop().bytes(),
    // BUILD with a state on an OrderedDict is dropped; BUILD on anything else is refused.
    'build-on-global': p().global('os', 'system').emptyDict().raw(0x62).stop().bytes(),
    'reduce-ordereddict-with-os-system-items': p()
      .global('collections', 'OrderedDict')
      .mark()
      .global('os', 'system')
      .str(sh)
      .raw(0x85)
      .reduce()
      .tuple()
      .reduce()
      .stop()
      .bytes(),
  };
}

export function buildCorpus(dir: string, marker: string): Case[] {
  mkdirSync(dir, { recursive: true });
  const file = (name: string, bytes: Uint8Array | string) => {
    const p = path.join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const out = path.join(dir, 'out');
  mkdirSync(out, { recursive: true });
  const cases: Case[] = [];
  const inspect = (id: string, p: string, line: RegExp, exit = 3) =>
    cases.push({ id, argv: ['inspect', p], exit, line });
  const convert = (id: string, p: string, line: RegExp, exit = 3) =>
    cases.push({ id: `${id} (convert)`, argv: ['convert', p, path.join(out, `${id}.safetensors`)], exit, line });

  // --- .pth archives truncated at every structure ---
  const good = validCheckpoint();
  const cuts = new Map<string, number>();
  offsetsOf(good, sigs.local).forEach((o, i) => {
    cuts.set(`in local header #${i}`, o + 10);
    cuts.set(`in member data #${i}`, o + 30 + 20 + 3);
  });
  offsetsOf(good, sigs.central).forEach((o, i) => cuts.set(`in central directory entry #${i}`, o + 20));
  const eocd = offsetsOf(good, sigs.eocd)[0];
  cuts.set('in the end-of-central-directory record', eocd + 12);
  cuts.set('one byte short', good.length - 1);
  for (const [where, at] of cuts) {
    const p = file(`cut-${where.replace(/\W+/g, '-')}.pth`, good.subarray(0, at));
    inspect(`pth truncated ${where}`, p, /corrupt zip archive|truncated|not a weights file/);
  }

  // --- corrupt central directories ---
  const cd0 = offsetsOf(good, sigs.central)[0];
  const damaged = (name: string, edit: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    edit(b);
    return file(name, b);
  };
  inspect(
    'central directory signature damaged',
    damaged('cd-sig.pth', (b) => (b[cd0 + 3] = 0x7f)),
    /corrupt zip archive: bad central directory entry #0/,
  );
  inspect(
    'central directory name length overruns',
    damaged('cd-namelen.pth', (b) => b.writeUInt16LE(0xffff, cd0 + 28)),
    /corrupt zip archive: central directory entry #\d overruns/,
  );
  inspect(
    'central directory entry points outside the data',
    damaged('cd-offset.pth', (b) => b.writeUInt32LE(0x7fffffff, cd0 + 42)),
    /corrupt zip archive: entry '.*' starts outside the archive data/,
  );
  inspect(
    'directory offset past the end',
    damaged('eocd-offset.pth', (b) => b.writeUInt32LE(0x7ffffff0, eocd + 16)),
    /corrupt zip archive: central directory extends past the end/,
  );
  inspect(
    'directory claims more entries',
    damaged('eocd-count.pth', (b) => b.writeUInt16LE(200, eocd + 10)),
    /corrupt zip archive: bad central directory entry #\d+/,
  );
  inspect(
    'spanned archive',
    damaged('eocd-disk.pth', (b) => b.writeUInt16LE(3, eocd + 4)),
    /multi-part \(spanned\) zip archives are not supported/,
  );

  // --- zip bombs and huge declared sizes ---
  const pkl1 = stateDictPickle([
    { name: 'w', storageType: 'FloatStorage', storageKey: '0', storageNumel: 4, offset: 0, shape: [4], stride: [1] },
  ]);
  inspect(
    'deflated member (a zip bomb needs compression)',
    file('bomb.pth', buildCheckpoint('archive', pkl1, { '0': new Uint8Array(1 << 20) }, { method: 8 })),
    /is compressed \(zip method 8\)/,
  );
  const huge = (name: string, size: number, z64: boolean) => {
    const b = Buffer.from(buildCheckpoint('archive', pkl1, { '0': f32Bytes([1, 2, 3, 4]) }, { zip64: z64 }));
    // The storage member's central entry: declare an enormous size.
    const entries = offsetsOf(b, sigs.central);
    const at = entries[1];
    if (z64) {
      const extra = at + 46 + b.readUInt16LE(at + 28);
      b.writeBigUInt64LE(BigInt(size), extra + 4);
      b.writeBigUInt64LE(BigInt(size), extra + 12);
    } else {
      b.writeUInt32LE(size, at + 20);
      b.writeUInt32LE(size, at + 24);
    }
    return file(name, b);
  };
  inspect(
    'member declaring 4 GB',
    huge('huge32.pth', 0xfffffff0, false),
    /corrupt zip archive: entry 'archive\/data\/0' declares 4294967280 bytes, more than the archive holds/,
  );
  inspect(
    'ZIP64 member declaring 1 PB',
    huge('huge64.pth', 2 ** 50, true),
    /corrupt zip archive: entry 'archive\/data\/0' declares 1125899906842624 bytes/,
  );

  // --- pickles that would run code (the marker file must never appear) ---
  for (const [name, pkl] of Object.entries(codeRunningPickles(marker))) {
    inspect(
      `pickle ${name}`,
      file(`evil-${name}.pth`, buildCheckpoint('archive', pkl, {})),
      /refusing to load: the pickle references the global|opcode (INST|OBJ|NEWOBJ) is not allowed|BUILD on an unsupported object/,
    );
  }
  // --- pickles that nest ten thousand levels deep or are absurdly wide/large ---
  const deepTuple = new PickleWriter().proto(2).emptyDict().raw(0x4e);
  for (let i = 0; i < 10_000; i++) deepTuple.raw(0x85);
  deepTuple.raw(0x4e, 0x73).stop();
  inspect(
    'pickle: tuple key nested 10,000 deep',
    file('deep-tuple.pth', buildCheckpoint('archive', deepTuple.bytes(), {})),
    /containers nested more than 100 deep/,
  );
  const deepLists = new PickleWriter().proto(2);
  for (let i = 0; i < 10_000; i++) deepLists.raw(0x5d);
  for (let i = 0; i < 9_999; i++) deepLists.raw(0x61);
  deepLists.stop();
  inspect(
    'pickle: lists nested 10,000 deep',
    file('deep-lists.pth', buildCheckpoint('archive', deepLists.bytes(), {})),
    /containers nested more than 100 deep/,
  );
  const marks = new PickleWriter().proto(2);
  for (let i = 0; i < 10_000; i++) marks.mark();
  inspect(
    'pickle: 10,000 nested MARKs',
    file('deep-marks.pth', buildCheckpoint('archive', marks.bytes(), {})),
    /more than 100 nested MARKs/,
  );
  const long4 = new Uint8Array(7 + (1 << 20) + 1);
  long4.set([0x80, 0x02, 0x8b, 0, 0, 0x10, 0]);
  long4[long4.length - 1] = 0x2e;
  inspect(
    'pickle: 1 MB LONG4 integer',
    file('long4.pth', buildCheckpoint('archive', long4, {})),
    /integer of 1048576 bytes/,
  );
  const memo = new PickleWriter().proto(2).raw(0x68, 7).stop();
  inspect(
    'pickle: memo reference to nothing',
    file('memo.pth', buildCheckpoint('archive', memo.bytes(), {})),
    /memo key 7 missing/,
  );
  inspect(
    'pickle: empty data.pkl',
    file('empty-pkl.pth', buildCheckpoint('archive', new Uint8Array(0), {})),
    /pickle data ends unexpectedly/,
  );

  // --- legacy torch files and other non-checkpoints ---
  inspect(
    'legacy (non-zip) torch.save file',
    file(
      'legacy.pth',
      Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]),
    ),
    /legacy \(pre-1\.6, non-zip\) torch\.save file/,
  );
  inspect(
    'a plain zip',
    file('plain.zip', buildZip([{ name: 'x.txt', data: Buffer.from('hi') }])),
    /zip archive but not a PyTorch checkpoint/,
  );
  inspect(
    'random bytes',
    file('random.pth', Buffer.from('this is a text file pretending to be weights\n')),
    /not a weights file/,
  );
  inspect('empty file', file('empty.safetensors', ''), /empty/);
  const fifo = path.join(dir, 'pipe.safetensors');
  execFileSync('mkfifo', [fifo]);
  inspect('a named pipe', fifo, /is not a file|named pipe/);
  cases.push({
    id: 'generate --var a named pipe',
    argv: [
      'generate',
      '--var',
      fifo,
      '--vae',
      path.join(SHIPPED, 'vae.safetensors'),
      '--out',
      path.join(out, 'fifo.png'),
    ],
    exit: 3,
    line: /is not a file|named pipe/,
  });

  // --- views and tensors ---
  const expand = stateDictPickle([
    {
      name: 'w',
      storageType: 'FloatStorage',
      storageKey: '0',
      storageNumel: 1,
      offset: 0,
      shape: [2 ** 28],
      stride: [0],
    },
  ]);
  const expandFile = file('expand.pth', buildCheckpoint('archive', expand, { '0': f32Bytes([1]) }));
  convert('stride-0 view expanding 4 bytes to 1 GiB', expandFile, /repeats storage elements \(1\.0 GiB from 4 bytes/);

  // --- safetensors headers the format forbids ---
  const st = (name: string, header: string, data: number) => {
    const json = Buffer.from(header);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return file(name, Buffer.concat([len, json, Buffer.alloc(data)]));
  };
  const e = (shape: number[], a: number, b: number) => JSON.stringify({ dtype: 'F32', shape, data_offsets: [a, b] });
  inspect(
    'safetensors nested ranges',
    st('nested.safetensors', `{"a":${e([4], 0, 16)},"b":${e([1], 4, 8)}}`, 16),
    /'b' \[4, 8\) lies inside 'a'/,
  );
  inspect(
    'safetensors duplicate tensor name',
    st('dup.safetensors', `{"a":${e([1], 0, 4)},"a":${e([1], 0, 4)}}`, 4),
    /names tensor 'a' twice/,
  );
  inspect('safetensors gap', st('gap.safetensors', `{"a":${e([1], 0, 4)},"b":${e([1], 8, 12)}}`, 12), /gap of 4 bytes/);
  inspect(
    'safetensors zero-size tensor inside another',
    st('zero.safetensors', `{"a":${e([2], 0, 8)},"z":${e([0], 4, 4)}}`, 8),
    /zero-size range inside 'a'/,
  );

  // --- wrong-shaped and non-finite state dicts (generate with the shipped VQ-VAE) ---
  const varSt = readFileSync(path.join(SHIPPED, 'var.safetensors'));
  const vae = path.join(SHIPPED, 'vae.safetensors');
  const headerOf = (b: Buffer) =>
    JSON.parse(b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString('utf8')) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
  const h = headerOf(varSt);
  const dataStart = 8 + Number(varSt.readBigUInt64LE(0));
  const withValue = (name: string, tensor: string, value: number) => {
    const b = Buffer.from(varSt);
    b.writeFloatLE(value, dataStart + h[tensor].data_offsets[0] + 4);
    return file(name, b);
  };
  const gen = (id: string, varPath: string, line: RegExp, exit = 3) =>
    cases.push({
      id,
      argv: [
        'generate',
        '--var',
        varPath,
        '--vae',
        vae,
        '--class',
        '0',
        '--out',
        path.join(out, `${id.replace(/\W+/g, '-')}.png`),
      ],
      exit,
      line,
    });
  gen(
    'generate: NaN in a VAR weight',
    withValue('nan.safetensors', 'blocks.2.ffn.fc2.weight', NaN),
    /tensor 'blocks\.2\.ffn\.fc2\.weight' holds 1 non-finite value of \d+ \(1 NaN/,
  );
  gen(
    'generate: +Inf in a VAR weight',
    withValue('inf.safetensors', 'head.weight', Infinity),
    /tensor 'head\.weight' holds 1 non-finite value/,
  );
  const nanScale = withValue('nan-scale.safetensors', 'blocks.0.attn.scale_mul_1H11', NaN);
  gen(
    'generate: NaN attention scale',
    nanScale,
    /tensor 'blocks\.0\.attn\.scale_mul_1H11' holds 1 non-finite value of 4/,
  );
  inspect(
    'inspect: NaN attention scale',
    nanScale,
    /tensor 'blocks\.0\.attn\.scale_mul_1H11' \(the attention scale of layer 0\) holds 1 non-finite value/,
  );
  // head.weight with one row too few: rewrite the header's shape and offsets consistently.
  {
    const hh = headerOf(varSt);
    const meta = (hh as Record<string, unknown>)['__metadata__'];
    delete (hh as Record<string, unknown>)['__metadata__'];
    const names = Object.keys(hh).sort((a, b) => hh[a].data_offsets[0] - hh[b].data_offsets[0]);
    const parts: Buffer[] = [];
    let off = 0;
    const header: Record<string, unknown> = { __metadata__: meta };
    for (const n of names) {
      const t = hh[n];
      let bytes = varSt.subarray(dataStart + t.data_offsets[0], dataStart + t.data_offsets[1]);
      let shape = t.shape;
      if (n === 'head.weight') {
        shape = [t.shape[0] - 1, t.shape[1]];
        bytes = bytes.subarray(0, bytes.length - 4 * t.shape[1]);
      }
      header[n] = { dtype: t.dtype, shape, data_offsets: [off, off + bytes.length] };
      off += bytes.length;
      parts.push(Buffer.from(bytes));
    }
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    gen(
      'generate: wrong-shaped head.weight',
      file('wrong-shape.safetensors', Buffer.concat([len, json, ...parts])),
      /shape mismatch .*head\.bias: expected \[255\], got \[256\]/,
    );
  }
  // Finite VQ-VAE weights that overflow float32 (±3e38 alternating): the decoder's sums become Inf − Inf
  // = NaN. The load check passes (every weight is finite); the image check must refuse to write.
  {
    const vaeSt = readFileSync(vae);
    const hv = headerOf(vaeSt);
    const start = 8 + Number(vaeSt.readBigUInt64LE(0));
    const b = Buffer.from(vaeSt);
    const [a0, a1] = hv['decoder.conv_out.weight'].data_offsets;
    for (let o = start + a0, i = 0; o < start + a1; o += 4, i++) b.writeFloatLE(i % 2 ? -3e38 : 3e38, o);
    cases.push({
      id: 'generate: weights that overflow to NaN pixels',
      argv: [
        'generate',
        '--vae',
        file('overflow-vae.safetensors', b),
        '--var',
        path.join(SHIPPED, 'var.safetensors'),
        '--class',
        '0',
        '--out',
        path.join(out, 'overflow.png'),
      ],
      exit: 3,
      line: /the model produced \d+ non-finite pixel values .*nothing was written/,
    });
    // `edit` encodes with the intact encoder, then decodes through the same overflowing conv_out.
    const picture = new PNG({ width: 32, height: 32 }); // the shipped model's size: no resize note;
    for (let i = 0; i < picture.data.length; i++) picture.data[i] = i % 4 === 3 ? 255 : (i * 37) % 256;
    cases.push({
      id: 'edit: weights that overflow to NaN pixels',
      argv: [
        'edit',
        '--vae',
        path.join(dir, 'overflow-vae.safetensors'),
        '--var',
        path.join(SHIPPED, 'var.safetensors'),
        '--image',
        file('picture.png', PNG.sync.write(picture)),
        '--box',
        '0.25,0.25,0.75,0.75',
        '--out',
        path.join(out, 'overflow-edit.png'),
      ],
      exit: 3,
      line: /the model produced \d+ non-finite pixel values .*nothing was written/,
    });
  }
  gen('generate: a VQ-VAE given as the VAR', vae, /VAR|missing|not a VAR|state dict/);

  // --- config files ---
  const cfg = (id: string, name: string, text: string, line: RegExp) =>
    cases.push({
      id: `config ${id}`,
      argv: ['generate', '--config', file(name, text), '--out', path.join(out, `cfg-${name}.png`)],
      exit: 2,
      line,
    });
  cfg('not JSON', 'bad.json', '{ "sampling": { cfg: 4 } ', /bad\.json: not valid JSON/);
  cfg('empty', 'empty.json', '', /empty\.json: not valid JSON/);
  cfg('an array', 'array.json', '[1, 2]', /array\.json: .*expected object/);
  cfg('wrong type', 'type.json', '{ "sampling": { "cfg": "high" } }', /type\.json: sampling\.cfg: .*expected number/);
  cfg('unknown key', 'unknown.json', '{ "backendz": [] }', /unknown\.json: unknown key 'backendz'/);
  cfg(
    'unknown nested key',
    'nested.json',
    '{ "sampling": { "temperature": 1 } }',
    /nested\.json: unknown key 'temperature'/,
  );
  cfg('seed out of range', 'seed.json', '{ "sampling": { "seed": 4294967296 } }', /seed\.json: sampling\.seed/);
  cfg('negative topK', 'topk.json', '{ "sampling": { "topK": -1 } }', /topk\.json: sampling\.topK/);
  cfg('topP above 1', 'topp.json', '{ "sampling": { "topP": 1.5 } }', /topp\.json: sampling\.topP/);
  cfg('unsupported extension', 'config.yaml', 'sampling: {}', /config\.yaml: unsupported config file type/);
  cfg('module that throws', 'throws.mjs', 'throw new Error("boom");', /throws\.mjs: failed to load \(boom\)/);
  cases.push({
    id: 'config file missing',
    argv: ['generate', '--config', path.join(dir, 'nope.json')],
    exit: 2,
    line: /config file .*nope\.json does not exist/,
  });

  // --- every flag out of range, NaN or text ---
  const flag = (id: string, argv: string[], line: RegExp, exit = 2) =>
    cases.push({
      id: `flag ${id}`,
      argv: [...argv, ...(argv[0] === 'generate' ? ['--out', path.join(out, 'flag.png')] : [])],
      exit,
      line,
    });
  for (const v of ['0', '-1', '1.5', 'abc', 'NaN', ''])
    flag(`--batch ${JSON.stringify(v)}`, ['generate', '--batch', v], /--batch (must be positive|expects an integer)/);
  // core's memory check before loading (exit 5): the whole request (classes × --batch, the zoomed grid) with the
  // weights, and the largest --batch that fits
  flag(
    '--batch 100000',
    ['generate', '--batch', '100000'],
    /^nextscale: VAR-d\d+ at \d+ px, 1,000,000 images at once \(10 classes × --batch 100000\).* — lower --batch to at most \d+/,
    5,
  );
  flag(
    '--batch 1e9',
    ['generate', '--batch', '1e9'],
    /10,000,000,000 images at once \(10 classes × --batch 1000000000\).* (needs about .* TB|over the .* limit for a single buffer)/,
    5,
  );
  flag(
    '-b 200 --zoom 32',
    ['generate', '-b', '200', '--zoom', '32'],
    /2,000 images at once \(10 classes × --batch 200 at --zoom 32\).* — lower --batch to at most \d+ or lower --zoom/,
    5,
  );
  for (const v of ['0', '33', 'NaN', 'x', '2.5'])
    flag(`--zoom ${v}`, ['generate', '--zoom', v], /--zoom (must be|expects an integer)/);
  for (const v of ['-1', '4294967296', '1.5', 'abc', 'Infinity'])
    flag(`--seed ${v}`, ['generate', '--seed', v], /--seed (must be|expects an integer)/);
  for (const v of ['-1', 'NaN', 'abc'])
    flag(`--cfg ${v}`, ['generate', '--cfg', v], /--cfg (must be|expects a number)/);
  for (const v of ['-1', '1.5', 'x'])
    flag(`--top-k ${v}`, ['generate', '--top-k', v], /--top-k (must be|expects an integer)/);
  for (const v of ['1.5', '-0.1', 'NaN'])
    flag(`--top-p ${v}`, ['generate', '--top-p', v], /--top-p (must be|expects a number)/);
  for (const v of ['0', '-1', 'NaN'])
    flag(`--epsilon ${v}`, ['generate', '--epsilon', v], /--epsilon (must be|expects a number)/);
  for (const v of ['0,1', 'a,b', ',']) flag(`--patch-nums ${v}`, ['generate', '--patch-nums', v], /--patch-nums/);
  for (const v of ['0', 'x']) flag(`--num-heads ${v}`, ['generate', '--num-heads', v], /--num-heads/);
  flag('--class 99', ['generate', '--class', '99'], /class/);
  flag('--class nope', ['generate', '--class', 'nope'], /class/);
  flag('--policy bogus', ['generate', '--policy', 'bogus'], /unknown policy 'bogus'/);
  flag('--backend missing', ['generate', '--backend', 'no-such-backend'], /no-such-backend/, 4);
  flag('unknown flag', ['generate', '--bogus'], /unknown option '--bogus'/);
  flag('unknown command', ['genrate'], /unknown command 'genrate'/);
  flag(
    'inspect --epsilon NaN',
    ['inspect', path.join(SHIPPED, 'var.safetensors'), '--epsilon', 'NaN'],
    /--epsilon expects a number/,
  );
  flag(
    'inspect --patch-nums x',
    ['inspect', path.join(SHIPPED, 'var.safetensors'), '--patch-nums', 'x'],
    /--patch-nums expects an integer/,
  );
  flag(
    'inspect --num-heads 0',
    ['inspect', path.join(SHIPPED, 'var.safetensors'), '--num-heads', '0'],
    /--num-heads must be positive/,
  );
  flag('inspect missing file', ['inspect', path.join(dir, 'missing.pth')], /does not exist/, 3);
  flag(
    'convert --metadata without =',
    ['convert', path.join(SHIPPED, 'vae.safetensors'), path.join(out, 'm.safetensors'), '--metadata', 'novalue'],
    /--metadata expects key=value/,
  );
  flag(
    'convert onto itself',
    ['convert', path.join(SHIPPED, 'vae.safetensors'), path.join(SHIPPED, 'vae.safetensors')],
    /input and output are the same file/,
  );
  for (const v of ['0', 'x'])
    flag(`bench --reps ${v}`, ['bench', '--reps', v, '--out', path.join(out, 'bench')], /--reps/);
  flag('bench --lengths x', ['bench', '--lengths', 'x', '--out', path.join(out, 'bench')], /--lengths/);
  flag('bench --beta NaN', ['bench', '--beta', 'NaN', '--out', path.join(out, 'bench')], /--beta/);
  flag('NEXTSCALE_EPSILON=abc', ['generate'], /NEXTSCALE_EPSILON expects a number/);
  cases[cases.length - 1].env = { NEXTSCALE_EPSILON: 'abc' };
  flag('NEXTSCALE_POLICY=bogus', ['generate'], /NEXTSCALE_POLICY: unknown policy/);
  cases[cases.length - 1].env = { NEXTSCALE_POLICY: 'bogus' };
  flag('NEXTSCALE_THREADS=0', ['generate'], /NEXTSCALE_THREADS=0: expected a positive integer/);
  cases[cases.length - 1].env = { NEXTSCALE_THREADS: '0' };
  return cases;
}
