import sharp from 'sharp';
import { scoreFrame } from '/work/main/packager/posters.ts';
const f = '/tmp/scr/art/cand_00001.tiff';
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  await Promise.all([1,2,3,4,5,6].map((i) => scoreFrame(`/tmp/scr/art/cand_0000${i}.tiff`)));
  const score = performance.now() - t; t = performance.now();
  await Promise.all([320, 640, 1280].flatMap((w) => [sharp(f).resize({ width: w }).jpeg({ quality: 82, mozjpeg: true }).toFile(`/tmp/scr/p${w}.jpg`), sharp(f).resize({ width: w }).webp({ quality: 80 }).toFile(`/tmp/scr/p${w}.webp`)]));
  const enc = performance.now() - t; t = performance.now();
  await Promise.all([320, 640, 1280].map((w) => sharp(f).resize({ width: w }).jpeg({ quality: 82, mozjpeg: true }).toFile(`/tmp/scr/q${w}.jpg`)));
  const jpg = performance.now() - t; t = performance.now();
  await Promise.all([320, 640, 1280].map((w) => sharp(f).resize({ width: w }).webp({ quality: 80 }).toFile(`/tmp/scr/q${w}.webp`)));
  console.log('score', Math.round(score), 'encode all', Math.round(enc), 'jpeg', Math.round(jpg), 'webp', Math.round(performance.now() - t));
}
