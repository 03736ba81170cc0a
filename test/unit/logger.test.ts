import { Writable } from 'node:stream';
import { DiscordAPIError } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

/** A destination that keeps what the logger writes. */
function captureLogs(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, sink };
}

describe('logging', () => {
  it('never writes tokens', () => {
    const { lines, sink } = captureLogs();
    const logger = createLogger('info', sink);
    logger.info({ token: 'bot-secret', job: { interactionToken: 'interaction-secret' }, headers: { authorization: 'Bot x' } }, 'hello');
    logger.child({ config: { REPLICATE_API_TOKEN: 'r8_secret', DISCORD_TOKEN: 'discord-secret' } }).info('child');
    const output = lines.join('');
    expect(output).toContain('hello');
    for (const secret of ['bot-secret', 'interaction-secret', 'Bot x', 'r8_secret', 'discord-secret']) expect(output).not.toContain(secret);
  });

  it('scrubs interaction tokens from the URLs and bodies that discord.js errors carry', () => {
    const { lines, sink } = captureLogs();
    const secret = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTpzZWNyZXQ';
    const url = `https://discord.com/api/v10/webhooks/100000000000000001/${secret}/messages/@original`;
    const error = new DiscordAPIError({ code: 10015, message: 'Unknown Webhook' }, 10015, 404, 'PATCH', url, {
      body: { content: `callback /interactions/1/${secret}/callback` },
    });
    createLogger('info', sink).warn({ err: error }, 'delivery attempt failed');
    const output = lines.join('');
    expect(output).toContain('Unknown Webhook');
    expect(output).toContain('/webhooks/100000000000000001/[redacted]/messages/@original');
    expect(output).not.toContain(secret);
  });
});
