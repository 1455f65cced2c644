import type { Queue } from 'bullmq';

/**
 * How many chunk jobs the connected workers can run at once. Chunks only pay when two or more run side by side: on a
 * box that runs one job at a time, a chunked 10-minute upload took 1.12× the hand-written command (chunk jobs wait
 * for the scan's verdict, 22 s for 600 MB, and the audio part runs alone between two chunks) where one piece takes
 * about 1.0× and is previewable as soon as the scan cleared it. Each chunk worker names its BullMQ connection after
 * its concurrency (chunkWorkerName), so a transcode job counts the slots of every host with one CLIENT LIST.
 */

const SLOTS = /(?:^|:w:)slots=(\d+)(?:@|$)/;

/** The chunk worker's BullMQ name (also stored on each job it takes): its job slots, then its host for operators. */
export function chunkWorkerName(slots: number, host: string): string {
  // A Redis client name cannot hold spaces or newlines.
  return `slots=${Math.max(1, Math.floor(slots))}@${host.replace(/[^\w.-]/g, '_')}`;
}

/** Slots of a worker connection from its raw client name; a worker without our name counts as one. */
export function slotsOfClient(rawname: string | undefined): number {
  const m = rawname ? SLOTS.exec(rawname.slice(rawname.lastIndexOf(':w:'))) : null;
  return m ? Math.max(1, Number(m[1])) : 1;
}

/**
 * The chunk queue's slots across all connected workers; undefined when the Redis server does not list its clients
 * (some managed services refuse CLIENT LIST): the caller then chunks as if there were enough.
 */
export async function chunkSlots(queue: Pick<Queue, 'getWorkers'>): Promise<number | undefined> {
  const workers = await queue.getWorkers().catch(() => undefined);
  if (!workers || workers.some((w) => w['rawname'] === undefined)) return undefined;
  return workers.reduce((n, w) => n + slotsOfClient(w['rawname']), 0);
}
