import { describe, expect, it } from 'vitest';
import type { FamilyNode } from '../../src/features/gallery/store.js';
import { esc } from '../../src/web/gallery/html.js';
import { authorLabel, familyTree } from '../../src/web/gallery/pages.js';
import { decodeCursor, encodeCursor } from '../../src/web/gallery/routes.js';

const node = (id: string, parentId: string | null, extra: Partial<FamilyNode> = {}): FamilyNode => ({
  id,
  parentId,
  state: 'shown',
  userId: '100',
  authorName: 'Ada',
  votes: 0,
  ...extra,
});

describe('gallery pages', () => {
  it('escapes every character that could open markup or an attribute', () => {
    expect(esc(`<img src=x onerror="a">'&\``)).toBe('&#60;img src=x onerror=&#34;a&#34;&#62;&#39;&#38;&#96;');
  });

  it('names a member who deleted their data "a former member", and an unnamed one "a member"', () => {
    expect(authorLabel(null, 'Old Name')).toBe('a former member');
    expect(authorLabel('1', null)).toBe('a member');
    expect(authorLabel('1', 'Ada')).toBe('Ada');
  });

  it('draws a family tree where shown pictures are links and hidden ones are plain boxes', () => {
    const svg = familyTree('9', [node('a', null), node('b', 'a', { state: 'hidden' }), node('c', 'a', { userId: null, authorName: 'Gone' })], 'c');
    expect(svg).toContain('href="/g/9/p/a"');
    expect(svg).toContain('href="/g/9/p/c"');
    expect(svg).not.toContain('/p/b"');
    expect(svg).not.toContain('/t/b.webp');
    expect(svg).toContain('a former member');
    expect(svg).not.toContain('Gone');
    // Two lines: a → b and a → c.
    expect(svg.match(/<path /g)).toHaveLength(2);
  });

  it('survives a family whose links loop back on themselves', () => {
    const svg = familyTree('9', [node('a', 'b'), node('b', 'a')], 'a');
    expect(svg).toContain('<svg');
  });

  it('reads back the cursors it writes, and nothing else', () => {
    expect(decodeCursor(encodeCursor({ id: '123-1', votes: 4 }))).toEqual({ id: '123-1', votes: 4 });
    const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const raw of [forge({ id: '../x' }), forge({ id: '1', votes: 1.5 }), forge({ id: '1', extra: true }), forge('1'), 'not*base64', '']) {
      expect(decodeCursor(raw)).toBeUndefined();
    }
  });
});
