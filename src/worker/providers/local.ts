import sharp from 'sharp';
import { upscaleImage } from '../../images/fit.js';
import { imageSize } from '../../images/meta.js';
import { applyStyleColours, blendComposite, styleAmount } from '../../images/references.js';
import {
  GenerationCancelledError,
  ProviderRefusedError,
  type DescribeRequest,
  type GeneratedImage,
  type GenerationRequest,
  type ImageProvider,
} from './types.js';

/**
 * The built-in offline renderer: no network, no key, no GPU. It paints procedural abstract
 * art from the prompt (palette from its words, composition from the seed) so the whole bot
 * can be run, demoed and tested without a paid backend.
 *
 * Determinism matters: a seed shown to members must reproduce the same picture, so all
 * randomness comes from a PRNG seeded by the request, and numbers in the SVG are printed
 * with fixed precision.
 */
export function createLocalProvider(): ImageProvider {
  return {
    name: 'local',
    async generate(request: GenerationRequest): Promise<GeneratedImage[]> {
      checkAborted(request.signal);
      request.onProgress(0);
      const images = request.kind === 'upscale' ? [await upscale(request)] : await renderBatch(request);
      request.onProgress(1);
      return images;
    },
    describe: describeOffline,
  };
}

const DEFAULT_STRENGTH = 0.6;
const VARIATION_STRENGTH = 0.35;
const MAX_SIDE = 4096;

async function upscale(request: GenerationRequest): Promise<GeneratedImage> {
  const init = requireInit(request);
  const data = await upscaleImage(init, 2).catch(refuseUndecodable);
  checkAborted(request.signal);
  const { width, height } = await imageSize(data);
  return { data, contentType: 'image/png', width, height };
}

async function renderBatch(request: GenerationRequest): Promise<GeneratedImage[]> {
  const { width, height, signal } = request;
  const sideOk = (side: number) => Number.isInteger(side) && side >= 16 && side <= MAX_SIDE;
  if (!sideOk(width) || !sideOk(height)) {
    throw new ProviderRefusedError(`image size ${width}×${height} is out of range`, 'invalid_input');
  }
  const count = Math.min(4, Math.max(1, Math.floor(request.count)));
  // Unknown model names render as painterly, and exactly as painterly would.
  const style = request.model === 'geometric' ? 'geometric' : 'painterly';

  let parent: Buffer | undefined;
  let strength = 1;
  let extraColours: Rgb[] = [];
  if (request.kind === 'img2img' || request.kind === 'variation') {
    // A blend starts from all its pictures averaged, and takes a colour from each.
    const init = request.blend ? await blendComposite(request.blend, width, height).catch(refuseUndecodable) : requireInit(request);
    strength = clamp(request.strength ?? (request.kind === 'variation' ? VARIATION_STRENGTH : DEFAULT_STRENGTH), 0.1, 1);
    if (request.blend) extraColours = await Promise.all(request.blend.map(dominantColour));
    // The parent, cropped to the requested frame, as raw RGB to blend with (transparent
    // areas on black, like the renders themselves).
    const prepared = sharp(init).rotate().resize(width, height, { fit: 'cover', position: 'centre' }).flatten({ background: '#000000' });
    parent = await prepared.clone().raw().toBuffer().catch(refuseUndecodable);
    if (request.kind === 'variation') {
      // Variations keep the parent's mood: its dominant colour joins the palette.
      const { dominant } = await prepared.stats();
      extraColours = [[dominant.r, dominant.g, dominant.b]];
    }
    checkAborted(signal);
  }
  // Outpaint and inpaint: new paint where the mask is white, the canvas where it is black. The
  // canvas's colours join the palette, so the new part belongs to the picture it extends.
  let masked: { canvas: Buffer; mask: Buffer } | undefined;
  if (request.kind === 'outpaint' || request.kind === 'inpaint') {
    const init = requireInit(request);
    if (!request.mask) throw new ProviderRefusedError(`${request.kind} needs a mask`, 'invalid_input');
    const canvas = sharp(init).resize(width, height, { fit: 'fill' }).flatten({ background: '#000000' }).removeAlpha();
    const [pixels, mask, stats] = await Promise.all([
      canvas.clone().raw().toBuffer(),
      sharp(request.mask).resize(width, height, { fit: 'fill', kernel: 'nearest' }).greyscale().extractChannel(0).raw().toBuffer(),
      canvas.clone().stats(),
    ]).catch(refuseUndecodable);
    masked = { canvas: pixels, mask };
    extraColours = [[stats.dominant.r, stats.dominant.g, stats.dominant.b]];
    checkAborted(signal);
  }

  const palette = paletteFromPrompt(request.prompt, request.negative ?? '', extraColours);
  const steps = 3; // render, grain/blend, encode
  /** One picture's pixels before the request-wide passes (chaos, stylize, tile). */
  const renderPixels = async (seed: number): Promise<Buffer> => {
    const rand = mulberry32(hashString([request.prompt, request.negative ?? '', style, seed].join('\u0000')));
    const svg = (style === 'geometric' ? geometricSvg : painterlySvg)(rand, palette, width, height);
    const pixels = await sharp(Buffer.from(svg)).flatten({ background: '#000000' }).raw().toBuffer();
    checkAborted(signal);
    // Flat geometric shapes show grain more, so they get less of it.
    addGrain(pixels, mulberry32(rand() * 2 ** 32), style === 'geometric' ? 14 : 20);
    if (parent) blendInto(pixels, parent, strength);
    if (request.style) await applyStyleColours(pixels, request.style.image, styleAmount(request.style.weight)).catch(refuseUndecodable);
    return pixels;
  };

  const results: GeneratedImage[] = [];
  let first: Buffer | undefined;
  for (let i = 0; i < count; i++) {
    const progress = (step: number) => request.onProgress((i + step / steps) / count);
    let pixels = await renderPixels(request.seed + i);
    progress(1);
    first ??= Buffer.from(pixels);
    // Chaos: how far pictures 2–4 move from the first. At 0 they keep a tenth of their own
    // composition (similar, not identical); at 100 they are entirely their own.
    if (request.chaos !== undefined && i > 0) pixels = mixPixels(first, pixels, 0.1 + 0.9 * (request.chaos / 100));
    if (request.stylize !== undefined) stylizePixels(pixels, request.stylize);
    if (request.tile) pixels = makeSeamless(pixels, width, height);
    // Last, so that outpaint and inpaint keep the canvas exactly where the mask is black.
    if (masked) keepUnmasked(pixels, masked.canvas, masked.mask);
    checkAborted(signal);
    progress(2);

    const data = await sharp(pixels, { raw: { width, height, channels: 3 } })
      // Measured on grainy 1024² renders: adaptive filtering cuts the file by ~40% (2.6 →
      // 1.6 MB, which matters against Discord's upload limit) while deflate levels above 3
      // buy almost nothing for their extra time.
      .png({ compressionLevel: 3, adaptiveFiltering: true })
      .toBuffer();
    checkAborted(signal);
    progress(3);
    results.push({ data, contentType: 'image/png', width, height });
  }
  return results;
}

async function dominantColour(image: Buffer): Promise<Rgb> {
  const { dominant } = await sharp(image).stats().catch(refuseUndecodable);
  return [dominant.r, dominant.g, dominant.b];
}

/**
 * /describe offline: four prompts read from the picture itself: its main colours (named with the
 * palette's own colour words), how light, vivid and contrasty it is, its shape, and where its
 * light sits. The same picture always gets the same four.
 */
async function describeOffline(request: DescribeRequest): Promise<string[]> {
  checkAborted(request.signal);
  const small = await sharp(request.image, { limitInputPixels: 4096 * 4096 })
    .rotate()
    .resize(48, 48, { fit: 'fill' })
    .flatten({ background: '#000000' })
    .removeAlpha()
    .raw()
    .toBuffer()
    .catch(refuseUndecodable);
  const meta = await sharp(request.image).metadata();
  const width = meta.width ?? 1;
  const height = meta.height ?? 1;

  // Colour words by how much of the picture is nearest to them.
  const named = Object.entries(COLOUR_WORDS).map(([word, hexes]) => ({ word, colours: hexes.map(hexToRgb) }));
  const votes = new Map<string, number>();
  let light = 0;
  let lightX = 0;
  let lightY = 0;
  let vivid = 0;
  const lumas: number[] = [];
  for (let i = 0, p = 0; i < small.length; i += 3, p++) {
    const rgb: Rgb = [small[i]!, small[i + 1]!, small[i + 2]!];
    let best = named[0]!.word;
    let bestDistance = Infinity;
    for (const { word, colours } of named) {
      for (const c of colours) {
        const d = (c[0] - rgb[0]) ** 2 + (c[1] - rgb[1]) ** 2 + (c[2] - rgb[2]) ** 2;
        if (d < bestDistance) [best, bestDistance] = [word, d];
      }
    }
    votes.set(best, (votes.get(best) ?? 0) + 1);
    const luma = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    lumas.push(luma);
    light += luma;
    lightX += luma * (p % 48);
    lightY += luma * Math.floor(p / 48);
    vivid += saturation(rgb);
  }
  const pixels = lumas.length;
  const mean = light / pixels;
  const contrast = Math.sqrt(lumas.reduce((sum, l) => sum + (l - mean) ** 2, 0) / pixels);
  const colours = [...votes.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([word]) => word)
    .slice(0, 3);
  const [first, second = first, third = second] = colours as [string, string?, string?];

  const mood = mean < 70 ? 'dark' : mean > 180 ? 'bright' : 'softly lit';
  const tone = vivid / pixels > 0.45 ? 'vivid' : vivid / pixels < 0.2 ? 'muted' : 'rich';
  const edges = contrast > 60 ? 'bold contrast' : contrast < 25 ? 'gentle gradients' : 'layered depth';
  const shape = width > height * 1.15 ? 'wide panorama' : height > width * 1.15 ? 'tall portrait' : 'square composition';
  const cx = light > 0 ? lightX / light / 47 : 0.5;
  const cy = light > 0 ? lightY / light / 47 : 0.5;
  const vertical = cy < 0.42 ? 'upper' : cy > 0.58 ? 'lower' : 'middle';
  const horizontal = cx < 0.42 ? 'left' : cx > 0.58 ? 'right' : 'centre';
  const where =
    vertical === 'middle' && horizontal === 'centre'
      ? 'the centre'
      : `the ${vertical === 'middle' ? '' : `${vertical} `}${horizontal === 'centre' ? 'middle' : horizontal}`;

  return [
    `a ${mood} ${shape} in ${first} and ${second}, ${tone} colours, light gathering in ${where}`,
    `${tone} abstract painting of ${first} ${second === first ? 'tones' : `and ${second}`}, ${edges}, ${shape}`,
    `${mood} landscape, ${first} sky over ${third} ground, ${edges}, painterly brush strokes`,
    `geometric shapes in ${colours.join(', ')}, ${tone} palette, ${edges}, focus on ${where}`,
  ];
}

function requireInit(request: GenerationRequest): Buffer {
  if (!request.init) throw new ProviderRefusedError(`${request.kind} needs a source image`, 'invalid_input');
  return request.init;
}

/** A source image sharp cannot read is the member's upload, not a fault worth retrying. */
function refuseUndecodable(error: unknown): never {
  const detail = error instanceof Error ? error.message : String(error);
  throw new ProviderRefusedError(`the source image could not be read (${detail})`, 'invalid_input');
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new GenerationCancelledError('generation cancelled');
}

// ---------------------------------------------------------------------------------------------
// Randomness

type Rand = () => number;

/** mulberry32: tiny, fast, good enough for pictures, and identical on every platform. */
function mulberry32(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** cyrb53-style string hash folded to 32 bits; seeds the PRNG and picks hues for words. */
function hashString(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ h2) >>> 0;
}

const between = (rand: Rand, lo: number, hi: number) => lo + (hi - lo) * rand();
const clamp = (value: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, value));
/** Fixed precision keeps the SVG text (and so the output bytes) stable. */
const n = (value: number) => value.toFixed(2);

// ---------------------------------------------------------------------------------------------
// Palette

type Rgb = [number, number, number];

/** Colour words and the colours they stand for. Loose associations are fine: it is art. */
const COLOUR_WORDS: Record<string, string[]> = {
  red: ['#d7263d', '#a4161a', '#e5383b'],
  crimson: ['#9e1b32', '#dc143c', '#6a040f'],
  scarlet: ['#ff2400', '#c1121f'],
  orange: ['#f77f00', '#fcbf49', '#e85d04'],
  amber: ['#ffbf00', '#ff7e00'],
  yellow: ['#ffd60a', '#f9e076', '#ffc300'],
  gold: ['#d4af37', '#ffcc33', '#b8860b'],
  golden: ['#d4af37', '#ffcc33', '#e9b949'],
  green: ['#2d6a4f', '#52b788', '#1b998b'],
  emerald: ['#047857', '#10b981', '#065f46'],
  forest: ['#1b4332', '#2d6a4f', '#40916c', '#081c15'],
  jungle: ['#004b23', '#38b000', '#007200'],
  moss: ['#4a5d23', '#8a9a5b', '#606c38'],
  blue: ['#1d4ed8', '#3a86ff', '#023e8a'],
  azure: ['#007fff', '#7fb8ff'],
  navy: ['#0b1d51', '#14213d', '#1d3557'],
  teal: ['#0f766e', '#14b8a6', '#2a9d8f'],
  cyan: ['#06b6d4', '#67e8f9'],
  turquoise: ['#40e0d0', '#0fa3b1'],
  ocean: ['#023e8a', '#0077b6', '#00b4d8', '#03045e'],
  sea: ['#0077b6', '#00b4d8', '#48cae4'],
  sky: ['#87ceeb', '#bde0fe', '#4ea8de'],
  ice: ['#e0f2fe', '#bae6fd', '#7dd3fc'],
  snow: ['#f8fafc', '#e2e8f0', '#cbd5e1'],
  winter: ['#e0f2fe', '#94a3b8', '#cbd5e1'],
  purple: ['#7b2cbf', '#9d4edd', '#3c096c'],
  violet: ['#8f00ff', '#b185db'],
  lavender: ['#b8a9e6', '#e6e6fa', '#9a8c98'],
  magenta: ['#d6156c', '#ff00a0'],
  pink: ['#ff8fab', '#ffc2d1', '#fb6f92'],
  rose: ['#e11d48', '#fda4af', '#be123c'],
  fog: ['#9ca3af', '#cbd5e1', '#e5e7eb', '#6b7280'],
  mist: ['#b8c0cc', '#dde3ea', '#8d99ae'],
  haze: ['#c9ccd5', '#e8e4de'],
  grey: ['#808080', '#a9a9a9', '#5c5c5c'],
  gray: ['#808080', '#a9a9a9', '#5c5c5c'],
  silver: ['#c0c0c0', '#e5e5e5', '#8e8e8e'],
  night: ['#0b132b', '#1c2541', '#3a506b', '#05070f'],
  midnight: ['#03071e', '#10002b', '#240046'],
  sunset: ['#ff7b00', '#ff5d8f', '#ffb347', '#f94144'],
  dusk: ['#5a189a', '#f3722c', '#ff7096'],
  sunrise: ['#ffb4a2', '#ffd6a5', '#e5989b'],
  dawn: ['#ffcdb2', '#ffb4a2', '#b5838d'],
  fire: ['#ff4500', '#ff8c00', '#b22222', '#ffd000'],
  flame: ['#ff4500', '#ff8c00', '#ffba08'],
  lava: ['#9d0208', '#dc2f02', '#f48c06'],
  ember: ['#9d0208', '#e85d04', '#370617'],
  desert: ['#e9c46a', '#f4a261', '#d4a373'],
  sand: ['#e9c46a', '#f2e8cf', '#d4a373'],
  autumn: ['#bc6c25', '#dda15e', '#9b2226'],
  brown: ['#6f4e37', '#8b5a2b', '#a47148'],
  earth: ['#6f4e37', '#7f5539', '#b08968'],
  black: ['#0a0a0a', '#1f1f1f'],
  dark: ['#0d0d12', '#1b1b24'],
  shadow: ['#111118', '#2a2a35'],
  white: ['#f8f8f8', '#e9ecef'],
  neon: ['#39ff14', '#ff10f0', '#00f0ff'],
  cyberpunk: ['#ff2a6d', '#05d9e8', '#01012b', '#d1f7ff'],
  space: ['#0b0033', '#370617', '#6a00f4', '#f72585'],
  galaxy: ['#10002b', '#5a189a', '#e0aaff', '#3c096c'],
  storm: ['#2b2d42', '#4a4e69', '#8d99ae'],
  spring: ['#b5e48c', '#ffc8dd', '#99d98c'],
  cherry: ['#de3163', '#ffb7c5'],
};

/** Words that say nothing about colour and should not tint the picture. */
const STOP_WORDS = new Set(
  'the a an and or of in on at to with without by for from into over under is are was be its it this that very some no not'.split(' '),
);

interface Swatch {
  rgb: Rgb;
  weight: number;
}

/** Lower-case words, with a plural 's' dropped when that names a colour word ('flames'). */
function words(text: string): string[] {
  return (text.toLowerCase().match(/[a-z]+/g) ?? []).map((word) =>
    !(word in COLOUR_WORDS) && word.endsWith('s') && word.slice(0, -1) in COLOUR_WORDS ? word.slice(0, -1) : word,
  );
}

/**
 * Colour words contribute their table colours; other words a hue from their hash (weighted
 * low when real colour words exist, so "deep ocean teal" stays blue). The negative prompt
 * removes the colour words it names, and any palette colour close in hue to them.
 */
function paletteFromPrompt(prompt: string, negative: string, extra: Rgb[]): Swatch[] {
  const banned = new Set(words(negative).filter((word) => word in COLOUR_WORDS));
  const bannedHues = [...banned]
    .flatMap((word) => COLOUR_WORDS[word]!.map(hexToRgb))
    .filter((c) => saturation(c) > 0.25)
    .map(hue);
  const tooClose = (rgb: Rgb) =>
    saturation(rgb) > 0.25 && bannedHues.some((h) => Math.min(Math.abs(h - hue(rgb)), 360 - Math.abs(h - hue(rgb))) < 20);

  const promptWords = words(prompt).filter((word) => !STOP_WORDS.has(word) && word.length > 2);
  const colourWords = promptWords.filter((word) => word in COLOUR_WORDS && !banned.has(word));
  const otherWords = promptWords.filter((word) => !(word in COLOUR_WORDS));

  const swatches: Swatch[] = [];
  for (const word of colourWords) {
    for (const hex of COLOUR_WORDS[word]!) swatches.push({ rgb: hexToRgb(hex), weight: 1 });
  }
  const hashedWeight = colourWords.length > 0 ? 0.15 : 1;
  // Each other word gives its hue plus a companion (analogous or complementary, lighter or
  // darker) so that a prompt like "a cat in a hat" does not come out in a single hue.
  for (const word of otherWords.slice(0, 12)) {
    const h = hashString(word);
    const baseHue = h % 360;
    const saturation = 0.45 + ((h >>> 9) % 30) / 100;
    const lightness = 0.35 + ((h >>> 17) % 30) / 100;
    const companionHue = (baseHue + [30, -30, 150, 180, 210][(h >>> 24) % 5]! + 360) % 360;
    swatches.push({ rgb: hslToRgb(baseHue, saturation, lightness), weight: hashedWeight });
    swatches.push({
      rgb: hslToRgb(companionHue, saturation * 0.8, lightness > 0.5 ? lightness - 0.25 : lightness + 0.2),
      weight: hashedWeight * 0.6,
    });
  }
  for (const rgb of extra) swatches.push({ rgb, weight: 2 });

  const allowed = swatches.filter((s) => !tooClose(s.rgb));
  if (allowed.length >= 2) return allowed;
  // Nothing (or one colour) left: fall back to hues hashed from the whole prompt, so even an
  // empty prompt gets a stable palette; complementary hues keep it from being monotone.
  const base = hashString(prompt) % 360;
  const fallback = [0, 150, 210, 40].map((offset, i) => ({
    rgb: hslToRgb((base + offset) % 360, 0.55, 0.3 + i * 0.12),
    weight: 1,
  }));
  const allowedFallback = [...allowed, ...fallback.filter((s) => !tooClose(s.rgb))];
  return allowedFallback.length >= 2 ? allowedFallback : [...allowed, ...fallback];
}

function pickColour(rand: Rand, palette: Swatch[]): Rgb {
  const total = palette.reduce((sum, s) => sum + s.weight, 0);
  let r = rand() * total;
  for (const swatch of palette) {
    r -= swatch.weight;
    if (r <= 0) return swatch.rgb;
  }
  return palette[palette.length - 1]!.rgb;
}

/** A palette colour nudged in lightness, so repeated picks do not look pasted. */
function paint(rand: Rand, palette: Swatch[], spread = 0.12): string {
  const [r, g, b] = pickColour(rand, palette);
  const k = 1 + between(rand, -spread, spread);
  return rgbToHex([r * k, g * k, b * k]);
}

function hexToRgb(hex: string): Rgb {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function rgbToHex(rgb: Rgb): string {
  return `#${rgb
    .map((c) =>
      Math.round(clamp(c, 0, 255))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

function hue([r, g, b]: Rgb): number {
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  if (d === 0) return 0;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}

function saturation([r, g, b]: Rgb): number {
  const max = Math.max(r, g, b);
  return max === 0 ? 0 : (max - Math.min(r, g, b)) / max;
}

function hslToRgb(h: number, s: number, l: number): Rgb {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

// ---------------------------------------------------------------------------------------------
// Compositions. Both draw in pixel units of the requested size; positions are fractions of
// the frame, so one seed gives the same composition at every aspect ratio.

/** Full-frame gradient in a random direction, the base both styles paint on. */
function backgroundLayer(rand: Rand, palette: Swatch[], w: number, h: number): { defs: string; body: string } {
  const angle = rand() * Math.PI * 2;
  const dx = Math.cos(angle) / 2;
  const dy = Math.sin(angle) / 2;
  const stops = [0, 0.5, 1].map((offset) => `<stop offset="${offset}" stop-color="${paint(rand, palette)}"/>`).join('');
  return {
    defs: `<linearGradient id="bg" x1="${n(0.5 - dx)}" y1="${n(0.5 - dy)}" x2="${n(0.5 + dx)}" y2="${n(0.5 + dy)}">${stops}</linearGradient>`,
    body: `<rect width="${w}" height="${h}" fill="url(#bg)"/>`,
  };
}

/** Darkened edges pull the eye to the middle, the cheapest way to look composed. */
function vignette(rand: Rand, w: number, h: number): { defs: string; body: string } {
  const strength = between(rand, 0.25, 0.45);
  return {
    defs:
      `<radialGradient id="vig" cx="0.5" cy="0.5" r="0.75">` +
      `<stop offset="0.55" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="${n(strength)}"/></radialGradient>`,
    body: `<rect width="${w}" height="${h}" fill="url(#vig)"/>`,
  };
}

function painterlySvg(rand: Rand, palette: Swatch[], w: number, h: number): string {
  const size = Math.min(w, h);
  const bg = backgroundLayer(rand, palette, w, h);
  const defs = [bg.defs];
  const layers = [bg.body];

  // Soft blobs: radial gradients fading to transparent read as blurred paint without the
  // cost of a blur filter over the whole frame.
  const blobs = Math.floor(between(rand, 6, 11));
  const blobShapes: string[] = [];
  for (let i = 0; i < blobs; i++) {
    const id = `b${i}`;
    defs.push(
      `<radialGradient id="${id}"><stop offset="0" stop-color="${paint(rand, palette)}" stop-opacity="${n(between(rand, 0.6, 0.95))}"/>` +
        `<stop offset="1" stop-color="${paint(rand, palette)}" stop-opacity="0"/></radialGradient>`,
    );
    const rx = between(rand, 0.2, 0.6) * size;
    const ry = rx * between(rand, 0.5, 1.3);
    blobShapes.push(
      `<ellipse cx="${n(rand() * w)}" cy="${n(rand() * h)}" rx="${n(rx)}" ry="${n(ry)}" ` +
        `transform="rotate(${n(rand() * 180)} ${n(w / 2)} ${n(h / 2)})" fill="url(#${id})"/>`,
    );
  }
  layers.push(`<g>${blobShapes.join('')}</g>`);

  // Brush strokes: each is several near-parallel curves of varying width and opacity, like
  // the bristles of one brush dragged along a bezier. (No SVG blur filter: in librsvg it
  // costs more than everything else in the picture together.)
  const strokes: string[] = [];
  const strokeCount = Math.floor(between(rand, 16, 30));
  for (let i = 0; i < strokeCount; i++) {
    const x0 = rand() * w;
    const y0 = rand() * h;
    const len = between(rand, 0.15, 0.5) * size;
    const dir = rand() * Math.PI * 2;
    const bend = between(rand, -0.4, 0.4) * len;
    const ux = Math.cos(dir);
    const uy = Math.sin(dir);
    const nx = -uy;
    const ny = ux;
    const x1 = x0 + ux * len * 0.33 + nx * bend;
    const y1 = y0 + uy * len * 0.33 + ny * bend;
    const x2 = x0 + ux * len * 0.66 + nx * bend * 0.6;
    const y2 = y0 + uy * len * 0.66 + ny * bend * 0.6;
    const x3 = x0 + ux * len;
    const y3 = y0 + uy * len;
    const width = between(rand, 0.008, 0.04) * size;
    const colour = paint(rand, palette, 0.25);
    const bristles = 5;
    for (let b = 0; b < bristles; b++) {
      const off = ((b - (bristles - 1) / 2) * 0.3 + between(rand, -0.08, 0.08)) * width;
      // Bristles also start and stop a little apart, so the ends look dragged, not cut.
      const lead = between(rand, -0.04, 0.04) * len;
      const ox = nx * off;
      const oy = ny * off;
      strokes.push(
        `<path d="M${n(x0 + ox + ux * lead)} ${n(y0 + oy + uy * lead)} C${n(x1 + ox)} ${n(y1 + oy)} ${n(x2 + ox)} ${n(y2 + oy)} ` +
          `${n(x3 + ox - ux * lead)} ${n(y3 + oy - uy * lead)}" ` +
          `stroke="${colour}" stroke-width="${n(width * between(rand, 0.2, 0.45))}" stroke-opacity="${n(between(rand, 0.15, 0.45))}"/>`,
      );
    }
  }
  layers.push(`<g fill="none" stroke-linecap="round">${strokes.join('')}</g>`);

  // A few small light dabs with soft edges: highlights give the eye somewhere to land.
  const dabs: string[] = [];
  const dabCount = Math.floor(between(rand, 3, 7));
  for (let i = 0; i < dabCount; i++) {
    const [r, g, b] = pickColour(rand, palette);
    const light = rgbToHex([r + (255 - r) * 0.55, g + (255 - g) * 0.55, b + (255 - b) * 0.55]);
    defs.push(
      `<radialGradient id="d${i}"><stop offset="0.4" stop-color="${light}" stop-opacity="${n(between(rand, 0.3, 0.7))}"/>` +
        `<stop offset="1" stop-color="${light}" stop-opacity="0"/></radialGradient>`,
    );
    dabs.push(`<circle cx="${n(rand() * w)}" cy="${n(rand() * h)}" r="${n(between(rand, 0.015, 0.05) * size)}" fill="url(#d${i})"/>`);
  }
  layers.push(`<g>${dabs.join('')}</g>`);

  const vig = vignette(rand, w, h);
  defs.push(vig.defs);
  layers.push(vig.body);
  return svgDocument(w, h, defs, layers);
}

function geometricSvg(rand: Rand, palette: Swatch[], w: number, h: number): string {
  const size = Math.min(w, h);
  const diagonal = Math.hypot(w, h);
  const bg = backgroundLayer(rand, palette, w, h);
  const defs = [bg.defs];
  const layers = [bg.body];

  // Bands: wide translucent stripes across the whole frame at one shared angle (plus jitter),
  // which gives the composition a dominant direction.
  const angle = rand() * 180;
  const bands: string[] = [];
  const bandCount = Math.floor(between(rand, 3, 7));
  for (let i = 0; i < bandCount; i++) {
    const thickness = between(rand, 0.04, 0.2) * size;
    const offset = between(rand, -0.5, 0.5) * diagonal;
    bands.push(
      `<rect x="${n(w / 2 - diagonal)}" y="${n(h / 2 + offset - thickness / 2)}" width="${n(diagonal * 2)}" height="${n(thickness)}" ` +
        `fill="${paint(rand, palette)}" fill-opacity="${n(between(rand, 0.25, 0.6))}" ` +
        `transform="rotate(${n(angle + between(rand, -8, 8))} ${n(w / 2)} ${n(h / 2)})"/>`,
    );
  }
  layers.push(`<g>${bands.join('')}</g>`);

  // Polygons: irregular 3–6-gons, points around a centre at random radii.
  const polygons: string[] = [];
  const polygonCount = Math.floor(between(rand, 7, 15));
  for (let i = 0; i < polygonCount; i++) {
    const cx = rand() * w;
    const cy = rand() * h;
    const radius = between(rand, 0.06, 0.3) * size;
    const sides = Math.floor(between(rand, 3, 7));
    const start = rand() * Math.PI * 2;
    const points: string[] = [];
    for (let s = 0; s < sides; s++) {
      const a = start + (s / sides) * Math.PI * 2 + between(rand, -0.25, 0.25);
      const r = radius * between(rand, 0.7, 1.15);
      points.push(`${n(cx + Math.cos(a) * r)},${n(cy + Math.sin(a) * r)}`);
    }
    polygons.push(`<polygon points="${points.join(' ')}" fill="${paint(rand, palette)}" fill-opacity="${n(between(rand, 0.45, 0.9))}"/>`);
  }
  layers.push(`<g>${polygons.join('')}</g>`);

  // Circles: some solid discs, some rings, for contrast with the straight edges.
  const circles: string[] = [];
  const circleCount = Math.floor(between(rand, 3, 9));
  for (let i = 0; i < circleCount; i++) {
    const r = between(rand, 0.03, 0.18) * size;
    const colour = paint(rand, palette, 0.2);
    const opacity = n(between(rand, 0.5, 0.95));
    circles.push(
      rand() < 0.6
        ? `<circle cx="${n(rand() * w)}" cy="${n(rand() * h)}" r="${n(r)}" fill="${colour}" fill-opacity="${opacity}"/>`
        : `<circle cx="${n(rand() * w)}" cy="${n(rand() * h)}" r="${n(r)}" fill="none" stroke="${colour}" stroke-opacity="${opacity}" stroke-width="${n(r * between(rand, 0.08, 0.25))}"/>`,
    );
  }
  layers.push(`<g>${circles.join('')}</g>`);

  const vig = vignette(rand, w, h);
  defs.push(vig.defs);
  layers.push(vig.body);
  return svgDocument(w, h, defs, layers);
}

function svgDocument(w: number, h: number, defs: string[], layers: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `<defs>${defs.join('')}</defs>${layers.join('')}</svg>`
  );
}

// ---------------------------------------------------------------------------------------------
// Pixel passes, done in JS on raw RGB: a single pass is cheaper than extra sharp composites
// and keeps the output exactly reproducible.

/**
 * Film-like grain: one luminance offset per pixel (so no colour speckle), amplitude in
 * 0–255 units, from its own PRNG so the grain is seeded too.
 */
function addGrain(pixels: Buffer, rand: Rand, amplitude: number): void {
  for (let i = 0; i < pixels.length; i += 3) {
    const noise = (rand() - 0.5) * amplitude;
    pixels[i] = clamp(pixels[i]! + noise + 0.5, 0, 255);
    pixels[i + 1] = clamp(pixels[i + 1]! + noise + 0.5, 0, 255);
    pixels[i + 2] = clamp(pixels[i + 2]! + noise + 0.5, 0, 255);
  }
}

/** pixels = parent·(1−strength) + pixels·strength: strength is how far we move from the parent. */
function blendInto(pixels: Buffer, parent: Buffer, strength: number): void {
  const keep = 1 - strength;
  for (let i = 0; i < pixels.length; i++) {
    pixels[i] = parent[i]! * keep + pixels[i]! * strength + 0.5;
  }
}

/** Where the mask is black (below half), the canvas's pixel replaces the new one. */
function keepUnmasked(pixels: Buffer, canvas: Buffer, mask: Buffer): void {
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]! >= 128) continue;
    const p = i * 3;
    pixels[p] = canvas[p]!;
    pixels[p + 1] = canvas[p + 1]!;
    pixels[p + 2] = canvas[p + 2]!;
  }
}

/** a·(1−own) + b·own, pixel by pixel, into a new buffer. */
function mixPixels(a: Buffer, b: Buffer, own: number): Buffer {
  const out = Buffer.allocUnsafe(b.length);
  for (let i = 0; i < b.length; i++) out[i] = a[i]! * (1 - own) + b[i]! * own + 0.5;
  return out;
}

/**
 * Stylize as colour intensity around each pixel's grey: 100 (the usual) leaves the picture as
 * rendered, 0 washes it out to 40% saturation, 1000 pushes it to 180%.
 */
function stylizePixels(pixels: Buffer, stylize: number): void {
  const factor = stylize <= 100 ? 0.4 + 0.6 * (stylize / 100) : 1 + 0.8 * ((stylize - 100) / 900);
  if (factor === 1) return;
  for (let i = 0; i < pixels.length; i += 3) {
    const grey = 0.299 * pixels[i]! + 0.587 * pixels[i + 1]! + 0.114 * pixels[i + 2]!;
    for (let c = 0; c < 3; c++) pixels[i + c] = clamp(grey + (pixels[i + c]! - grey) * factor + 0.5, 0, 255);
  }
}

/**
 * Makes a picture repeat seamlessly, one axis at a time: near each edge it fades into a copy of
 * itself shifted by half the frame. At the edges only the shifted copy shows, and there its
 * columns (rows) w−1 and 0 are neighbours from the middle of the original, so the wrap-around
 * continues; the shifted copy's own seam sits in the middle, where only the original shows.
 */
function makeSeamless(pixels: Buffer, width: number, height: number): Buffer {
  const horizontal = seamlessPass(pixels, width, height, 'x');
  return seamlessPass(horizontal, width, height, 'y');
}

function seamlessPass(src: Buffer, width: number, height: number, axis: 'x' | 'y'): Buffer {
  const out = Buffer.allocUnsafe(src.length);
  const side = axis === 'x' ? width : height;
  const fade = side / 4;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = axis === 'x' ? x : y;
      const keep = Math.min(1, Math.min(t, side - 1 - t) / fade);
      const sx = axis === 'x' ? (x + Math.floor(width / 2)) % width : x;
      const sy = axis === 'y' ? (y + Math.floor(height / 2)) % height : y;
      const at = (y * width + x) * 3;
      const from = (sy * width + sx) * 3;
      for (let c = 0; c < 3; c++) out[at + c] = src[at + c]! * keep + src[from + c]! * (1 - keep) + 0.5;
    }
  }
  return out;
}
