import type { LadderRung } from '../core/types.ts';
import type { WatermarkImage } from '../media/watermark.ts';

export const WATERMARK_CORNERS = ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const;
export type WatermarkCorner = (typeof WATERMARK_CORNERS)[number];

/** A deployment-wide overlay burned into every rung (WATERMARK_* config). */
export interface WatermarkOptions {
  readonly image: WatermarkImage;
  readonly corner: WatermarkCorner;
  /** 0–1: multiplies the PNG's own alpha. */
  readonly opacity: number;
  /** Watermark height as a fraction of the rung's height (its width follows the PNG's aspect ratio). */
  readonly heightFraction: number;
  /** Distance from the two nearest edges as a fraction of the rung's height. */
  readonly marginFraction: number;
}

/** Pixel size and position of the watermark on one rung. */
export function watermarkBox(
  w: WatermarkOptions,
  rung: Pick<LadderRung, 'width' | 'height'>,
): { w: number; h: number; x: number; y: number } {
  const h = Math.max(2, Math.min(rung.height, Math.round(rung.height * w.heightFraction)));
  const wd = Math.max(2, Math.min(rung.width, Math.round((h * w.image.width) / w.image.height)));
  const m = Math.round(rung.height * w.marginFraction);
  const x = w.corner.endsWith('left') ? m : Math.max(0, rung.width - wd - m);
  const y = w.corner.startsWith('top') ? m : Math.max(0, rung.height - h - m);
  return { w: wd, h, x, y };
}

/**
 * The filter-graph pieces that burn the watermark into each rung, after its scale: the PNG (input `inputIndex`, one
 * frame) gets its opacity and is split and scaled once per rung — a single picture, so those run once per encode, not
 * per frame — and each rung's overlay blends only the watermark's rectangle (eof_action=repeat keeps the one frame for
 * the whole video). Per rung rather than once before the split: the overlay's cost is its area, which is about the
 * same either way (the rungs' areas add up to roughly the source's), but only per rung is the size exact in output
 * pixels (anamorphic sources are squared by the rung's scale), the PNG resampled once, and the posters and storyboard,
 * which share the split, left clean. Rung i reads `[p<i>]` and writes `[v<i>]`.
 */
export function watermarkFilters(
  w: WatermarkOptions,
  rungs: readonly Pick<LadderRung, 'width' | 'height'>[],
  inputIndex: number,
): string[] {
  if (!rungs.length) return [];
  const alpha = Math.min(1, Math.max(0, w.opacity)).toFixed(3);
  const labels = rungs.map((_, i) => `[wm${i}]`).join('');
  const source = `[${inputIndex}:v:0]format=rgba,colorchannelmixer=aa=${alpha},split=${rungs.length}${labels}`;
  const perRung = rungs.flatMap((r, i) => {
    const b = watermarkBox(w, r);
    return [
      `[wm${i}]scale=${b.w}:${b.h}:flags=lanczos[wms${i}]`,
      `[p${i}][wms${i}]overlay=x=${b.x}:y=${b.y}:format=yuv420:eof_action=repeat[v${i}]`,
    ];
  });
  return [source, ...perRung];
}
