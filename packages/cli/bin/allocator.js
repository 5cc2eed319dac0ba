// A cold run touches ~4 GB of fresh memory (the weights read, then ONNX Runtime's copies and packed forms). In 4 KiB
// pages that is a million page faults, and on a virtual machine each one can cost the host a fault of its own: on this
// project's VM a first touch costs ~2.8 s per GiB, and a one-image d16 run on the onnx engine spent 8 of its 22 CPU
// seconds in the kernel (NOTES.md "Session 9: integration"). glibc's `glibc.malloc.hugetlb=1` asks for transparent huge
// pages (2 MiB) on the memory it maps, which makes that 512× fewer faults: the cold run fell from 18.6 s to 12.1 s, for
// ~0.15 GiB more peak RSS (huge pages round allocations up). glibc reads the setting only at process start, so the
// commands that run a model start the CLI again with it: one extra Node process, ~0.1 s, that only waits, passes signals
// on and exits as its child did. Where transparent huge pages are off, the setting changes nothing.
import { spawn } from 'node:child_process';

/** The setting the child runs with: malloc's mapped memory in transparent huge pages (madvise), glibc ≥ 2.35. */
export const ALLOCATOR_ENV = { name: 'GLIBC_TUNABLES', value: 'glibc.malloc.hugetlb=1' };

/** Marks the child this module starts (its value: the parent's pid), so that it follows its parent if that dies. */
const CHILD_MARK = 'NEXTSCALE_CLI_RELAUNCHED';

/** The commands that load and run a model (the others gain nothing and start faster without a second process). */
const MODEL_COMMANDS = new Set(['generate', 'sample', 'edit']);

/** Whether this process should start the CLI again with the allocator setting. */
export function wantsRelaunch(args, env = process.env, platform = process.platform) {
  if (platform !== 'linux' || env[CHILD_MARK] !== undefined) return false;
  // a user's own GLIBC_TUNABLES wins (we would replace it)
  if (env.GLIBC_TUNABLES !== undefined) return false;
  return MODEL_COMMANDS.has(args.find((a) => !a.startsWith('-')) ?? '');
}

/**
 * In the relaunched child: exit with the parent (killed by SIGKILL, it cannot pass that on). The IPC channel closes
 * when the parent's process ends, whatever ended it; SIGTERM then stops the command as a SIGTERM to the CLI does.
 */
export function followParent() {
  if (process.env[CHILD_MARK] === undefined) return;
  delete process.env[CHILD_MARK]; // not for the processes the CLI starts
  if (!process.channel) return;
  process.channel.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/** Runs `script` with `args` in a child with the allocator setting; resolves never: this process ends as the child did. */
export function relaunch(script, args) {
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    // its own process group: a terminal's Ctrl-C reaches only this process, which passes it on once (reaching both,
    // the CLI would take it as a second interrupt and exit at once instead of stopping cleanly)
    detached: true,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [ALLOCATOR_ENV.name]: ALLOCATOR_ENV.value, [CHILD_MARK]: String(process.pid) },
  });
  const pass = (sig) => () => child.kill(sig);
  const handlers = Object.fromEntries(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => [s, pass(s)]));
  // Ctrl-Z stops the child with this process (the terminal stops only its foreground group), fg continues both
  handlers.SIGTSTP = () => {
    child.kill('SIGSTOP');
    process.kill(process.pid, 'SIGSTOP');
  };
  handlers.SIGCONT = () => child.kill('SIGCONT');
  for (const [s, h] of Object.entries(handlers)) process.on(s, h);
  return new Promise(() => {
    child.on('error', (e) => {
      process.stderr.write(`nextscale: could not start the command (${e.message})\n`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      for (const [s, h] of Object.entries(handlers)) process.off(s, h);
      // ended by a signal: end by the same one, so that whoever started the CLI sees what its child saw
      if (signal) process.kill(process.pid, signal);
      else process.exit(code ?? 1);
    });
  });
}
