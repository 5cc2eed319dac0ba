/** The `nextscale` command tree (commander), with exit codes instead of process.exit. */
import { Command, CommanderError } from 'commander';
import { createContext, type Context } from './context.js';
import { backendsCommand } from './commands/backends.js';
import { benchCommand } from './commands/bench.js';
import type { CommonOptions, Wrap } from './commands/common.js';
import { convertCommand } from './commands/convert.js';
import { editCommand } from './commands/edit.js';
import { generateCommand } from './commands/generate.js';
import { inspectCommand } from './commands/inspect.js';
import { modelsCommand } from './commands/models.js';
import { sampleCommand } from './commands/sample.js';
import { workerCommand } from './commands/worker.js';
import { usageError } from './errors.js';

export const COMMANDS = [
  'generate',
  'edit',
  'models',
  'backends',
  'inspect',
  'convert',
  'bench',
  'sample',
  'worker',
] as const;

export interface RunState {
  exitCode: number;
  ctx?: Context;
}

export function buildProgram(
  version: string,
  base: { signal: AbortSignal; env: NodeJS.ProcessEnv; cwd: string },
  state: RunState,
): Command {
  const program = new Command('nextscale')
    .description('Visual AutoRegressive (VAR) image generation with pluggable attention backends')
    .version(version, '-v, --version', 'print the version')
    .usage('<command> [options]')
    .showSuggestionAfterError(true)
    // Needed for `models pull <name> --json` to reach pull (commander hands options to the nearest command only when every level is positional).
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      // Commander's own error text is replaced by our one-line form (see main).
      writeErr: () => undefined,
      outputError: () => undefined,
    });

  const wrap: Wrap =
    (run) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const flags = cmd.opts() as CommonOptions;
      const positional = args.slice(0, -2) as string[];
      const ctx = createContext({
        json: flags.json,
        debug: flags.debug,
        verbose: flags.verbose,
        signal: base.signal,
        env: base.env,
        cwd: base.cwd,
      });
      state.ctx = ctx;
      state.exitCode = await run(ctx, flags as never, ...positional);
    };

  for (const make of [
    generateCommand,
    editCommand,
    modelsCommand,
    backendsCommand,
    inspectCommand,
    convertCommand,
    benchCommand,
    sampleCommand,
    workerCommand,
  ]) {
    const cmd = make(wrap);
    for (const c of [cmd, ...cmd.commands]) {
      c.exitOverride().configureOutput({
        writeOut: (s) => process.stdout.write(s),
        writeErr: () => undefined,
        outputError: () => undefined,
      });
      c.showSuggestionAfterError(true);
    }
    program.addCommand(cmd);
  }
  return program;
}

/** Commander's parse errors as our usage errors: one line, with the fix. */
export function fromCommanderError(err: CommanderError, argv: string[]): Error {
  if (err.code === 'commander.help' || (err.code === 'commander.missingArgument' && !argv.length)) {
    return usageError(
      'no command given',
      `pass a command: nextscale ${COMMANDS.join('|')} [options] ('nextscale --help' for more)`,
    );
  }
  const problem = err.message.replace(/^error:\s*/i, '').split('\n')[0];
  const sub = COMMANDS.find((c) => argv.includes(c));
  if (err.code === 'commander.unknownCommand' || (!sub && err.code === 'commander.excessArguments')) {
    const hint = /Did you mean/
      .exec(err.message)
      ?.input.split('\n')
      .find((l) => /Did you mean/.test(l));
    return usageError(
      problem,
      `${
        hint
          ? `${hint
              .trim()
              .replace(/^\(|\)$/g, '')
              .replace(/^Did/, 'did')} `
          : ''
      }pass a command: nextscale ${COMMANDS.join('|')} [options]`,
    );
  }
  return usageError(problem, `see 'nextscale ${sub ? `${sub} ` : ''}--help'`);
}
