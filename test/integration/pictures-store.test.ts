import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveDelivery, recordImages, recordRequest, type ArchivedImage } from '../../src/features/pictures/store.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

let database: TestDatabase;

beforeAll(async () => {
  // Enough connections for every writer below to really run at once.
  database = await createTestDatabase({ migrated: true, maxConnections: 12 });
});

afterAll(() => database.drop());

const GUILD = '300000000000000001';
const CHANNEL = '400000000000000001';
const AUTHOR = '200000000000000001';

function image(requestId: string, index: number, messageId?: string): ArchivedImage {
  return {
    id: `${requestId}-${index}`,
    requestId,
    index,
    kind: 'txt2img',
    prompt: 'a storm',
    seed: 7,
    width: 64,
    height: 64,
    contentType: 'image/png',
    userId: AUTHOR,
    guildId: GUILD,
    channelId: CHANNEL,
    createdAt: Date.now(),
    ...(messageId ? { messageId } : {}),
  };
}

/** The request's archive row, as admission writes it, for two pictures. */
async function requested(id: string, text: { prompt?: string; negative?: string } = {}): Promise<void> {
  await recordRequest(database.db, {
    id,
    kind: 'txt2img',
    prompt: text.prompt ?? 'a storm',
    negative: text.negative,
    aspect: '1:1',
    seed: 7,
    count: 2,
    model: 'painterly',
    userId: AUTHOR,
    guildId: GUILD,
    channelId: CHANNEL,
    createdAt: Date.now(),
  });
}

describe('picture rows on real PostgreSQL', () => {
  it('writes the same pictures from many writers at once as one set of rows, without an error', async () => {
    for (let round = 0; round < 60; round++) {
      const requestId = `${1_310_000_000_000_000_000n + BigInt(round)}`;
      await requested(requestId);
      const writers = Array.from({ length: 10 }, (_, n) =>
        recordImages(database.db, [image(requestId, 1, n === 3 ? '500000000000000001' : undefined), image(requestId, 2)]),
      );
      await Promise.all(writers);
      const rows = await database.db
        .selectFrom('images')
        .select(['id', 'position', 'message_id'])
        .where('request_id', '=', requestId)
        .orderBy('position')
        .execute();
      expect(rows.map((row) => [row.id, row.position])).toEqual([
        [`${requestId}-1`, 0],
        [`${requestId}-2`, 1],
      ]);
      // Whichever writer came last, the message a writer knew is kept.
      expect(rows[0]!.message_id).toBe('500000000000000001');
    }
  });

  it('keeps crafted text exactly as written, whatever an array literal would make of it', async () => {
    const requestId = '1310000000000001000';
    const prompt = 'he said "hi", {a,b} \\ \\" NULL\n\t🎨';
    const negative = '}{,"\'; DROP TABLE images; --';
    await requested(requestId, { prompt, negative });
    const pictures = [1, 2].map((index) => ({ ...image(requestId, index), prompt, negative, model: 'NULL', aspect: undefined }));
    await recordImages(database.db, pictures);
    await archiveDelivery(database.db, {
      requestId,
      outcome: { status: 'delivered', resultChannelId: CHANNEL, resultMessageId: '500000000000000002' },
      images: pictures.map((picture) => ({ ...picture, messageId: '500000000000000002', attachmentUrl: 'https://cdn.example/a,"b".png' })),
      author: { userId: AUTHOR, name: '{"}' },
      made: { guildId: GUILD, pictures: 2 },
    });
    const rows = await database.db
      .selectFrom('images')
      .select(['prompt', 'negative', 'model', 'aspect', 'message_id', 'attachment_url'])
      .where('request_id', '=', requestId)
      .execute();
    expect(rows).toEqual(
      [1, 2].map(() => ({
        prompt,
        negative,
        model: 'NULL',
        aspect: null,
        message_id: '500000000000000002',
        attachment_url: 'https://cdn.example/a,"b".png',
      })),
    );
    const named = await database.db.selectFrom('member_names').select('name').where('user_id', '=', AUTHOR).executeTakeFirst();
    expect(named?.name).toBe('{"}');
  });
});
