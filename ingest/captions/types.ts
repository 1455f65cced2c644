/** A caption cue after vetting: times in ms, settings and text already in canonical WebVTT form. */
export interface CaptionCue {
  readonly startMs: number;
  readonly endMs: number;
  /** Cue settings (`line:0 align:start`), each checked against the spec; '' when none. */
  readonly settings: string;
  /** Cue text lines joined by "\n", re-serialised by sanitizeCueText. */
  readonly text: string;
  /** 1-based line of the timing line in the uploaded file (error context). */
  readonly line: number;
}

/** A REGION definition (WebVTT §4.2.1), its settings checked and normalised. */
export interface CaptionRegion {
  readonly id: string;
  readonly settings: string;
}

export interface CaptionDocument {
  readonly regions: readonly CaptionRegion[];
  readonly cues: readonly CaptionCue[];
}

export interface CaptionLimits {
  /** Largest accepted file in bytes; default 512 KiB (a feature film's subtitles are ~100 KiB). */
  readonly maxBytes?: number;
  /** Most cues; default 5000. */
  readonly maxCues?: number;
  /** Most text lines per cue; default 4 (more does not fit a child's screen). */
  readonly maxLinesPerCue?: number;
  /** Most visible characters per text line; default 120. */
  readonly maxLineChars?: number;
  /** Video duration in ms: every cue must end by then (plus toleranceMs). */
  readonly durationMs: number;
  /** Slack past the duration for rounding in authoring tools, in ms; default 500. */
  readonly toleranceMs?: number;
}

export type CaptionFormat = 'vtt' | 'srt';
