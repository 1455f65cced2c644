import { fmt, ratioFigure, summarize } from '../stats.ts';
import { benchTimeToPlayable } from '../time-to-playable.ts';
import type { Figure, Scenario } from '../types.ts';

/**
 * Time to playable: upload finished → master + first segment of every rung published, against the full transcode of the same
 * run. Full mode uses the 60 s 1080p source; quick mode a short 360p one (structure only, not the target).
 */
export const timeToPlayableScenario: Scenario = {
  id: 'time-to-playable',
  title: 'time to playable (progressive EVENT publishing) vs full transcode',
  async run(ctx) {
    const full = ctx.config.mode === 'full';
    const spec = full ? { sourceSeconds: 60, width: 1920, height: 1080 } : { sourceSeconds: 6, width: 640, height: 360 };
    const ttp: number[] = [];
    const whole: number[] = [];
    for (let i = 1; i <= ctx.config.repeats; i++) {
      const r = await benchTimeToPlayable({ ...spec, preset: ctx.config.preset, tmpRoot: ctx.workDir, ffmpegPath: ctx.ffmpeg.ffmpegPath });
      ttp.push(r.timeToPlayableSec);
      whole.push(r.fullTranscodeSec);
      ctx.progress.step(
        this.id,
        `${spec.height}p ${spec.sourceSeconds}s rep ${i}/${ctx.config.repeats}`,
        `${fmt(r.timeToPlayableSec)} s of ${fmt(r.fullTranscodeSec)} s`,
      );
    }
    const params = { ...spec, preset: ctx.config.preset };
    const group = 'time to playable (s)';
    const playable: Figure = { id: 'ttp.playable', scenario: this.id, group, label: 'playable', unit: 's', stat: summarize(ttp), params };
    const transcode: Figure = {
      id: 'ttp.full',
      scenario: this.id,
      group,
      label: 'full transcode',
      unit: 's',
      stat: summarize(whole),
      params,
    };
    return [
      playable,
      transcode,
      ratioFigure({
        id: 'ttp.ratio',
        scenario: this.id,
        group: 'time to playable ÷ full transcode',
        label: `${spec.height}p ${spec.sourceSeconds}s`,
        numerator: playable,
        denominator: transcode,
        target: { op: '<=', value: 0.25 },
      }),
    ];
  },
};
