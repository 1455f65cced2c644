// @ts-check
// What a moderator needs beside the preview to decide quickly: the file's technical facts, the uploader's earlier
// videos and how they were judged, and the usual reasons for a rejection one click away.
import { formatAge, formatBytes, formatTime } from './format.js';
import { api } from './session.js';

/** @typedef {import('./session.js').VideoDetail} VideoDetail */
/** @typedef {import('./session.js').VideoSummary} VideoSummary */

/** Reasons moderators give most; a click puts one in the notes, which stay editable. */
export const PRESET_REASONS = [
  'Shows a child’s face or body in a way that should not be public.',
  'Shows personal information (name, address, school, phone number, car plate).',
  'Not suitable for children (violence, fear, language).',
  'Advertising or someone else’s content.',
  'Not a usable video (black, silent, corrupt or far too short).',
];

/**
 * @param {HTMLElement} dl
 * @param {VideoDetail} v
 */
export function showTechInfo(dl, v) {
  const top = v.renditions.filter((r) => r.height).sort((a, b) => (b.height ?? 0) - (a.height ?? 0))[0];
  const scan = v.scan.result === 'clean' ? 'clean' : v.scan.result === 'infected' ? 'INFECTED' : 'not scanned yet';
  /** @type {Array<[string, string]>} */
  const rows = [
    ['Duration', v.durationSec === null ? '—' : formatTime(v.durationSec)],
    ['File size', v.sourceSizeBytes === null ? '—' : formatBytes(v.sourceSizeBytes)],
    ['Picture', top ? `${top.width}×${top.height}, ${top.codecs}` : v.status === 'ready' ? '—' : 'still processing'],
    [
      'Renditions',
      v.renditions
        .filter((r) => r.height)
        .map((r) => `${r.height}p`)
        .join(', ') || '—',
    ],
    ['Virus scan', v.scan.at ? `${scan} (${formatAge(v.scan.at)})` : scan],
    ['Uploaded', formatAge(v.createdAt)],
  ];
  dl.replaceChildren(
    ...rows.flatMap(([k, val]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = val;
      return [dt, dd];
    }),
  );
}

/** @param {VideoSummary} v */
function verdict(v) {
  if (v.status !== 'ready' && v.status !== 'processing' && v.status !== 'uploaded') return `not published (${v.status})`;
  if (v.moderation.status === 'approved') return 'approved';
  if (v.moderation.status === 'rejected') return `rejected${v.moderation.notes ? `: ${v.moderation.notes}` : ''}`;
  return 'waiting for review';
}

/**
 * The uploader's other videos, newest first (staff may list any uploader's), so a pattern shows at a glance.
 * @param {HTMLElement} list
 * @param {string | null} uploaderId
 * @param {string} currentId
 * @param {string} token
 */
export async function showUploaderHistory(list, uploaderId, currentId, token) {
  if (!uploaderId) {
    list.replaceChildren();
    return;
  }
  /** @type {{ items: VideoSummary[] }} */
  const { items } = await api(`/api/videos?uploader=${encodeURIComponent(uploaderId)}&limit=10`, { token });
  const others = items.filter((v) => v.id !== currentId);
  const rows = others.map((v) => {
    const li = document.createElement('li');
    li.textContent = `${v.title} — ${verdict(v)} · ${formatAge(v.createdAt)}`;
    li.dataset.moderation = v.moderation.status;
    return li;
  });
  if (!rows.length) {
    const li = document.createElement('li');
    li.textContent = 'No other videos from this uploader.';
    rows.push(li);
  }
  list.replaceChildren(...rows);
}

/**
 * @param {HTMLElement} container
 * @param {HTMLTextAreaElement} notes
 */
export function wirePresets(container, notes) {
  container.replaceChildren(
    ...PRESET_REASONS.map((reason) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary preset';
      b.textContent = reason;
      b.addEventListener('click', () => {
        notes.value = reason;
        notes.focus();
      });
      return b;
    }),
  );
}
