import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Tags by name, without group prefixes, as `exiftool -json` prints them. */
export type Tags = Readonly<Record<string, unknown>>;

/**
 * Every tag the system exiftool (libimage-exiftool-perl, installed by `ops/setup.sh --for-tests`) finds in `file`.
 * A second, independent reader: ffprobe shares its demuxers with the ffmpeg that did the stripping, so it could
 * share its blind spots too.
 */
export async function readTags(file: string): Promise<Tags> {
  // exiftool exits 1 for a file it cannot fully parse (e.g. "Unknown file type" for a bare .m4s fragment) but still
  // prints what it found, file-system tags and an Error tag included; that output is what the tests inspect.
  const stdout = await run('exiftool', ['-json', '-struct', file], { maxBuffer: 16 * 1024 * 1024 }).then(
    (r) => r.stdout,
    (err: unknown) => {
      const out = (err as { stdout?: unknown }).stdout;
      if (typeof out === 'string' && out.trimStart().startsWith('[')) return out;
      throw err;
    },
  );
  const parsed: unknown = JSON.parse(stdout);
  const first: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
  if (typeof first !== 'object' || first === null) throw new Error(`exiftool printed no tags for ${file}: ${stdout.slice(0, 200)}`);
  return first as Tags;
}

/** Runs exiftool's tag assignments (`-Tag=value`) on `file` in place. */
export async function writeTags(file: string, assignments: readonly string[]): Promise<void> {
  await run('exiftool', [...assignments, '-overwrite_original', file]);
}
