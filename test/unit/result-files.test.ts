import { describe, expect, it } from 'vitest';
import { pictureIdOfFile, resultFileBase, resultPictureIds } from '../../src/bot/result-files.js';

const APP = '1432374592017666049';
const JOB = '1577334599057543213';

describe('result file names', () => {
  it('reads back the picture a result file names, and nothing from a grid or any other name', () => {
    expect(pictureIdOfFile(`${resultFileBase(JOB, 2)}.png`)).toBe(`${JOB}-2`);
    expect(pictureIdOfFile(`${resultFileBase(JOB, 4)}.webp`)).toBe(`${JOB}-4`);
    for (const name of [
      `${resultFileBase(JOB, 'grid')}.png`,
      `atelier-${JOB}-5.png`,
      `atelier-${JOB}-0.png`,
      `atelier-${JOB}-1`,
      `atelier-${JOB}-1.png.exe`,
      `../atelier-${JOB}-1.png`,
      `atelier-12345-1.png`,
      `atelier-${JOB}12-1.png`,
      'sketch.png',
      '',
    ]) {
      expect(pictureIdOfFile(name), name).toBeUndefined();
    }
  });

  it('counts a message as a result only when this application posted it', () => {
    const fileNames = [`${resultFileBase(JOB, 'grid')}.png`, `${resultFileBase(JOB, 1)}.png`, `${resultFileBase(JOB, 2)}.png`];
    const ctx = { applicationId: APP, botUserId: APP };
    expect(resultPictureIds(ctx, { authorId: APP, fileNames })).toEqual([`${JOB}-1`, `${JOB}-2`]);
    expect(resultPictureIds(ctx, { authorId: '720000000000000002', webhookId: APP, fileNames })).toEqual([`${JOB}-1`, `${JOB}-2`]);
    // A member, or a channel webhook, uploading files named like a result.
    expect(resultPictureIds(ctx, { authorId: '720000000000000002', fileNames })).toEqual([]);
    expect(resultPictureIds(ctx, { authorId: '1432374592017666050', webhookId: '1432374592017666050', fileNames })).toEqual([]);
  });

  it('knows the bot user of an older application, whose id is not the application’s', () => {
    const fileNames = [`${resultFileBase(JOB, 1)}.png`];
    const botUser = '1432374592017666051';
    const ctx = { applicationId: APP, botUserId: botUser };
    // The bot's channel post, and its interaction reply (the application's webhook).
    expect(resultPictureIds(ctx, { authorId: botUser, fileNames })).toEqual([`${JOB}-1`]);
    expect(resultPictureIds(ctx, { authorId: botUser, webhookId: APP, fileNames })).toEqual([`${JOB}-1`]);
    // A user whose id happens to be the application's is not the bot.
    expect(resultPictureIds(ctx, { authorId: APP, fileNames })).toEqual([]);
  });
});
