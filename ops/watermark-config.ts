import path from 'node:path';
import { z } from 'zod';
import { probeWatermark } from '../media/watermark.ts';
import { WATERMARK_CORNERS, type WatermarkCorner, type WatermarkOptions } from '../transcoder/watermark.ts';

/**
 * Watermark variables (off unless WATERMARK_PATH is set). Kept beside config.ts, which merges this schema into its
 * own and is still the only module that reads process.env.
 */
export const WatermarkEnvShape = {
  /** PNG burned into every rung of every video; unset = no watermark. */
  WATERMARK_PATH: z.string().min(1).optional(),
  WATERMARK_CORNER: z.enum(WATERMARK_CORNERS).default('bottom-right'),
  /** 0–1, multiplies the PNG's own alpha. */
  WATERMARK_OPACITY: z.coerce.number().min(0).max(1).default(0.6),
  /** Height of the watermark as a fraction of each rung's height (width follows the PNG's aspect ratio). */
  WATERMARK_HEIGHT: z.coerce.number().gt(0).max(0.5).default(0.08),
  /** Distance from the corner's two edges as a fraction of each rung's height. */
  WATERMARK_MARGIN: z.coerce.number().min(0).max(0.25).default(0.03),
};

type WatermarkEnv = z.output<z.ZodObject<typeof WatermarkEnvShape>>;

export interface WatermarkConfig {
  readonly path: string;
  readonly corner: WatermarkCorner;
  readonly opacity: number;
  readonly heightFraction: number;
  readonly marginFraction: number;
}

export function watermarkConfigFrom(e: WatermarkEnv): WatermarkConfig | undefined {
  if (!e.WATERMARK_PATH) return undefined;
  return {
    path: path.resolve(e.WATERMARK_PATH),
    corner: e.WATERMARK_CORNER,
    opacity: e.WATERMARK_OPACITY,
    heightFraction: e.WATERMARK_HEIGHT,
    marginFraction: e.WATERMARK_MARGIN,
  };
}

/** The overlay the transcoder burns in, with the PNG vetted once at startup (OPS_WATERMARK_INVALID stops the worker). */
export async function loadWatermark(c: WatermarkConfig | undefined, ffprobePath: string): Promise<WatermarkOptions | undefined> {
  if (!c) return undefined;
  const image = await probeWatermark(c.path, { ffprobePath });
  return { image, corner: c.corner, opacity: c.opacity, heightFraction: c.heightFraction, marginFraction: c.marginFraction };
}
