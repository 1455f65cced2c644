/**
 * Rewrites an HLS playlist (master or media) so every URI it names carries the playback signature: URI lines
 * (variant streams, segments) and every quoted URI="…" attribute (EXT-X-MAP, EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF,
 * EXT-X-KEY, EXT-X-SESSION-DATA, …; RFC 8216 §4.2 makes URI a quoted-string attribute wherever it appears).
 * Only relative URIs inside the package are signed: an absolute or parent-relative URI would hand our signature to
 * another path or host, so it is left as written (and the serving route refuses such paths anyway).
 */
export function isPackageRelative(uri: string): boolean {
  if (uri === '' || uri.startsWith('/') || uri.startsWith('\\') || /^[a-z][a-z0-9+.-]*:/i.test(uri)) return false;
  const pathPart = uri.split(/[?#]/, 1)[0] ?? '';
  return !pathPart.split('/').some((s) => s === '..' || s === '.' || s === '');
}

function withSig(uri: string, sig: string): string {
  if (!isPackageRelative(uri)) return uri;
  const hash = uri.indexOf('#');
  const base = hash >= 0 ? uri.slice(0, hash) : uri;
  const frag = hash >= 0 ? uri.slice(hash) : '';
  // Any sig the stored playlist already carried is dropped: only ours may authorise the request.
  const [p, q] = base.split('?', 2) as [string, string | undefined];
  const kept = (q ?? '').split('&').filter((kv) => kv !== '' && !kv.startsWith('sig='));
  kept.push(`sig=${encodeURIComponent(sig)}`);
  return `${p}?${kept.join('&')}${frag}`;
}

export function signPlaylist(text: string, sig: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => {
      const t = line.trim();
      if (t === '') return line;
      if (!t.startsWith('#')) return withSig(t, sig);
      if (!t.startsWith('#EXT')) return line; // a comment
      return line.replace(/URI="([^"]*)"/g, (_m, uri: string) => `URI="${withSig(uri, sig)}"`);
    })
    .join('\n');
}

/**
 * Signs the image URLs of a storyboard WebVTT (cue payloads such as `sprite.jpg#xywh=0,0,160,90`), so a player can
 * load the sprite with the same signature as the VTT itself.
 */
export function signVtt(text: string, sig: string): string {
  let inCue = false;
  return text
    .split(/\r?\n/)
    .map((line) => {
      if (line.includes('-->')) {
        inCue = true;
        return line;
      }
      if (line.trim() === '') {
        inCue = false;
        return line;
      }
      return inCue ? withSig(line.trim(), sig) : line;
    })
    .join('\n');
}
