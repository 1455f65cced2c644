import { ingestScenario } from './scenarios/ingest.ts';
import { transcodeCompare, transcodePresets, transcodeScaling } from './scenarios/transcode.ts';
import type { Scenario } from './types.ts';

/**
 * Every scenario `npm run bench` knows, in run order. To add one (e.g. issue 5's bench/time-to-playable.ts), wrap it
 * as a Scenario — `{ id: 'time-to-playable', title, run: async (ctx) => figuresFrom(await benchTimeToPlayable(...)) }`
 * — and append it here; reports, chart and table pick it up without further changes.
 */
export const SCENARIOS: readonly Scenario[] = [transcodeCompare, transcodePresets, transcodeScaling, ingestScenario];

/** The registered scenarios `only` selects (all when absent); unknown ids are an error, not a silent no-op. */
export function selectScenarios(all: readonly Scenario[], only: readonly string[] | undefined): Scenario[] {
  if (!only || only.length === 0) return [...all];
  const unknown = only.filter((id) => !all.some((s) => s.id === id));
  if (unknown.length) throw new Error(`Unknown scenario(s) ${unknown.join(', ')}; known: ${all.map((s) => s.id).join(', ')}`);
  return all.filter((s) => only.includes(s.id));
}
