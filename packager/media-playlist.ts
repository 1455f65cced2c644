/** A parsed HLS media playlist: just what the packager needs to measure and validate. */
export interface MediaPlaylist {
  readonly targetDuration: number;
  readonly mapUri: string | undefined;
  readonly segments: ReadonlyArray<{ readonly uri: string; readonly duration: number }>;
  readonly endList: boolean;
  readonly playlistType: string | undefined;
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines[0] !== '#EXTM3U') throw new Error('Not an HLS playlist: missing #EXTM3U');
  let targetDuration = 0;
  let mapUri: string | undefined;
  let pending: number | undefined;
  let endList = false;
  let playlistType: string | undefined;
  const segments: { uri: string; duration: number }[] = [];
  for (const line of lines) {
    if (line.startsWith('#EXT-X-TARGETDURATION:')) targetDuration = Number(line.split(':')[1]);
    else if (line.startsWith('#EXT-X-MAP:')) mapUri = /URI="([^"]+)"/.exec(line)?.[1];
    else if (line.startsWith('#EXTINF:')) pending = parseFloat(line.slice('#EXTINF:'.length));
    else if (line === '#EXT-X-ENDLIST') endList = true;
    else if (line.startsWith('#EXT-X-PLAYLIST-TYPE:')) playlistType = line.split(':')[1];
    else if (!line.startsWith('#') && pending !== undefined) {
      segments.push({ uri: line, duration: pending });
      pending = undefined;
    }
  }
  return { targetDuration, mapUri, segments, endList, playlistType };
}
