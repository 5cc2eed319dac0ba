export const VERSION = '0.1.0';

/** Entry point of the `nextscale` binary; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  process.stderr.write('usage: nextscale <command> (commands arrive with issue 5)\n');
  return 2;
}
