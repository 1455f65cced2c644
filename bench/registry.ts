import { analyticsScenario } from './scenarios/analytics.ts';
import { endToEndScenario } from './scenarios/end-to-end.ts';
import { ingestScenario } from './scenarios/ingest.ts';
import { timeToPlayableScenario } from './scenarios/time-to-playable.ts';
import { scaleOutScenario } from './scenarios/scale-out.ts';
import { transcodeScaling } from './scenarios/scaling.ts';
import { transcodeCompare, transcodePresets } from './scenarios/transcode.ts';
import { watermarkScenario } from './scenarios/watermark.ts';
import type { Scenario } from './types.ts';

/**
 * Every scenario `npm run bench` knows, in run order. To add one, wrap it as a Scenario and append it here; reports,
 * chart and table pick it up without further changes.
 */
export const SCENARIOS: readonly Scenario[] = [
  transcodeCompare,
  transcodePresets,
  transcodeScaling,
  ingestScenario,
  timeToPlayableScenario,
  endToEndScenario,
  scaleOutScenario,
  analyticsScenario,
  watermarkScenario,
];

/** The registered scenarios `only` selects (all when absent); unknown ids are an error, not a silent no-op. */
export function selectScenarios(all: readonly Scenario[], only: readonly string[] | undefined): Scenario[] {
  if (!only || only.length === 0) return [...all];
  const unknown = only.filter((id) => !all.some((s) => s.id === id));
  if (unknown.length) throw new Error(`Unknown scenario(s) ${unknown.join(', ')}; known: ${all.map((s) => s.id).join(', ')}`);
  return all.filter((s) => only.includes(s.id));
}
