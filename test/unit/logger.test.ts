import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

describe('logging', () => {
  it('never writes tokens', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.info({ token: 'bot-secret', job: { interactionToken: 'interaction-secret' }, headers: { authorization: 'Bot x' } }, 'hello');
    logger.child({ config: { REPLICATE_API_TOKEN: 'r8_secret', DISCORD_TOKEN: 'discord-secret' } }).info('child');
    const output = lines.join('');
    expect(output).toContain('hello');
    for (const secret of ['bot-secret', 'interaction-secret', 'Bot x', 'r8_secret', 'discord-secret']) expect(output).not.toContain(secret);
  });
});
