/**
 * The `nextscale` command line. `main(argv)` runs one command and returns the exit code:
 * 0 ok, 1 internal error, 2 usage or config, 3 weights, 4 backend unavailable, 130 interrupted.
 */
import { CommanderError } from 'commander';
import { CliError, describeError, EXIT } from './errors.js';
import { buildProgram, COMMANDS, fromCommanderError, type RunState } from './program.js';
import { handleInterrupts } from './signals.js';
import { writeJson } from './output/json.js';
import { environmentSettings } from './config/resolve.js';
import { VERSION } from './package-info.js';

export { VERSION } from './package-info.js';

export { EXIT, CliError, describeError } from './errors.js';
export { resolveSettings, type ResolvedSettings } from './config/resolve.js';
export { configSchema, type ConfigFile } from './config/schema.js';
export { discoverBackends } from './plugs/discover.js';
export { to8bit, imageFromBatch } from './output/image.js';
export { composeGrid } from './output/grid.js';

export interface MainOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export async function main(argv: string[], o: MainOptions = {}): Promise<number> {
  const interrupts = handleInterrupts();
  const state: RunState = { exitCode: EXIT.ok };
  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  try {
    environmentSettings(o.env ?? process.env);
    const program = buildProgram(
      VERSION,
      { signal: interrupts.signal, env: o.env ?? process.env, cwd: o.cwd ?? process.cwd() },
      state,
    );
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (raw) {
    let err = raw;
    if (raw instanceof CommanderError) {
      if (raw.exitCode === 0) return 0;
      err = fromCommanderError(raw, argv);
    }
    if (interrupts.signal.aborted) {
      const note = state.ctx?.interruptNote;
      err = note
        ? new CliError('E_ABORTED', 'interrupted', note)
        : Object.assign(new Error('interrupted'), { name: 'AbortError' });
    }
    const d = describeError(
      err,
      argv.find((a) => (COMMANDS as readonly string[]).includes(a)),
    );
    if (json) writeJson(process.stdout, { error: { code: d.code, message: d.message, exitCode: d.exitCode } });
    process.stderr.write(`nextscale: ${d.line}\n`);
    if (d.internal && debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return d.exitCode;
  } finally {
    state.ctx = undefined;
    interrupts.dispose();
  }
}
