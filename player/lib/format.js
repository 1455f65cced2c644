// @ts-check
/** @param {number} n */
export function formatBytes(n) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** @param {number} sec */
export function formatTime(sec) {
  if (!Number.isFinite(sec) || sec < 0) sec = 0;
  const s = Math.floor(sec % 60);
  const m = Math.floor(sec / 60) % 60;
  const h = Math.floor(sec / 3600);
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return `${h ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

/** @param {string} iso */
export function formatAge(iso, now = Date.now()) {
  const sec = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (sec < 60) return `${sec} s ago`;
  if (sec < 3600) return `${Math.round(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.round(sec / 3600)} h ago`;
  return `${Math.round(sec / 86400)} d ago`;
}

/** Upload speed over a sliding window of progress samples, and the ETA that follows from it. */
export function createRateMeter(windowMs = 4000) {
  /** @type {{ bytes: number, at: number }[]} */
  const samples = [];
  return {
    reset() {
      samples.length = 0;
    },
    /** @param {number} bytes */
    add(bytes, at = performance.now()) {
      samples.push({ bytes, at });
      while (samples.length > 2 && at - (samples[0]?.at ?? at) > windowMs) samples.shift();
    },
    /** Bytes per second, or 0 before there are two samples. */
    rate() {
      const a = samples[0];
      const b = samples[samples.length - 1];
      if (samples.length < 2 || !a || !b) return 0;
      return b.at > a.at ? ((b.bytes - a.bytes) * 1000) / (b.at - a.at) : 0;
    },
  };
}
