/**
 * In-band metadata of video bitstreams. Container tags are dropped by `-map_metadata -1`, but cameras, phones,
 * drones and dashcams also write free text (GPS fixes, serial numbers, owner names) into the video stream itself,
 * and a stream copy carries it into the master, the archive and a stream-copied rung.
 *
 * Removed per codec with ffmpeg's `filter_units` bitstream filter, by unit type:
 * - H.264: SEI NAL units (type 6), which hold user_data_unregistered (5) and user_data_registered_itu_t_t35 (4).
 * - HEVC: prefix and suffix SEI NAL units (39, 40), the same payloads.
 * - AV1: metadata OBUs (type 5), which carry ITU-T T.35 user data.
 * - MPEG-2 video: user_data start codes (0xB2 = 178).
 * SEI is by definition supplemental (H.264/HEVC Annex D): parameter sets and slices, everything a decoder needs to
 * reconstruct the pictures, stay; colour signalling lives in the SPS VUI and rotation in the container matrix, both
 * kept. What goes with it: informational messages such as HDR10+ dynamic metadata, picture timing and recovery points
 * (ffmpeg then treats I-frames as recovery points); the pipeline re-encodes to SDR H.264 anyway.
 * VP8 and VP9 have no user-data mechanism and are copied as they are. Every other codec (MPEG-4 Part 2 user data,
 * MJPEG EXIF segments, ProRes, …) cannot be filtered and is re-encoded for the master instead.
 */
const FILTERS: Readonly<Record<string, string | null>> = {
  h264: 'filter_units=remove_types=6',
  hevc: 'filter_units=remove_types=39|40',
  av1: 'filter_units=remove_types=5',
  mpeg2video: 'filter_units=remove_types=178',
  vp8: null,
  vp9: null,
};

export type UserDataPlan = { readonly kind: 'copy'; readonly bsf: string | null } | { readonly kind: 'reencode' };

/** How the master's video stream loses its in-band user data: a filtered stream copy, or a re-encode. */
export function userDataPlan(codec: string): UserDataPlan {
  const bsf = FILTERS[codec];
  return bsf === undefined ? { kind: 'reencode' } : { kind: 'copy', bsf };
}
