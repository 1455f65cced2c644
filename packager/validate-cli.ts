/**
 * Ops entry point: checks a package directory and prints one line per violation.
 *   node --import tsx packager/validate-cli.ts <package-dir> [--json]
 * Exit status: 0 valid, 1 violations found, 2 usage error.
 */
import { validatePackage } from './validate.ts';

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const dirs = argv.filter((a) => !a.startsWith('--'));
  if (dirs.length !== 1) {
    process.stderr.write('usage: node --import tsx packager/validate-cli.ts <package-dir> [--json]\n');
    return 2;
  }
  const violations = await validatePackage(dirs[0]!);
  if (json) process.stdout.write(`${JSON.stringify({ ok: violations.length === 0, violations }, null, 2)}\n`);
  else if (violations.length === 0) process.stdout.write('ok: package is valid\n');
  else for (const v of violations) process.stdout.write(`${v.code}\t${v.file}\t${v.detail}\n`);
  return violations.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
