import { Readable } from 'node:stream';
import { zipStream, type ZipEntry } from '../core/zip-stream.ts';
import type { PersonalDataStore } from '../db/personal-data-store.ts';
import type { ObjectLocation } from './erasure.ts';

export interface DataExportDeps {
  readonly store: PersonalDataStore;
  /** Where the user's files are; the export names each object (store and key), the masters zip carries the bytes. */
  readonly objects: readonly ObjectLocation[];
  /** The video's master (stripped of metadata) from wherever it is kept, or undefined when there is none. */
  readonly openMaster?: (videoId: string) => Promise<Readable | undefined>;
  /** Clock of `generatedAt`; default Date.now. */
  readonly now?: () => number;
}

/** Format tag of the document, bumped when its shape changes. */
export const EXPORT_FORMAT = 'kidstream-export/1';

/**
 * The export document, produced piece by piece: `{format, userId, generatedAt, videoIds, tables: {<table>: [rows…]},
 * objects: [{store, key}…]}`. Rows are read with a cursor and written as they come, so a long history never sits in
 * memory; a reader that stops reading stops the cursor (back-pressure through Readable.from).
 */
export async function* exportDocument(d: DataExportDeps, userId: string): AsyncGenerator<string> {
  const videoIds = await d.store.videoIdsOf(userId);
  const head = { format: EXPORT_FORMAT, userId, generatedAt: new Date((d.now ?? Date.now)()).toISOString(), videoIds };
  yield `${JSON.stringify(head).slice(0, -1)},"tables":{`;
  let table: string | undefined;
  let first = true;
  for await (const chunk of d.store.exportRows({ userId, videoIds })) {
    if (chunk.table !== table) {
      yield `${table === undefined ? '' : '],'}${JSON.stringify(chunk.table)}:[`;
      table = chunk.table;
      first = true;
    }
    for (const row of chunk.rows) {
      yield `${first ? '' : ','}\n${JSON.stringify(row)}`;
      first = false;
    }
  }
  yield `${table === undefined ? '' : ']'}},"objects":[`;
  first = true;
  for (const id of videoIds) {
    for (const loc of d.objects) {
      for (const prefix of loc.prefixes(id)) {
        const keys = prefix.endsWith('/') ? await loc.storage.list(prefix) : (await loc.storage.head(prefix)) ? [prefix] : [];
        for (const key of keys) {
          yield `${first ? '' : ','}\n${JSON.stringify({ store: loc.store, key })}`;
          first = false;
        }
      }
    }
  }
  yield ']}\n';
}

/** The export as a byte stream for an HTTP response. */
export function exportStream(d: DataExportDeps, userId: string): Readable {
  return Readable.from(exportDocument(d, userId));
}

async function* zipEntries(d: DataExportDeps, userId: string): AsyncGenerator<ZipEntry> {
  yield { name: 'export.json', open: async () => exportDocument(d, userId) };
  for (const id of await d.store.videoIdsOf(userId)) {
    const master = await d.openMaster?.(id);
    if (master) yield { name: `masters/${id}.mp4`, open: async () => master };
  }
}

/**
 * The export document plus the user's own masters in one zip (`export.json`, `masters/<videoId>.mp4`), streamed: each
 * master is read once, straight into the response.
 */
export function exportZipStream(d: DataExportDeps, userId: string): Readable {
  return Readable.from(zipStream(zipEntries(d, userId)));
}
