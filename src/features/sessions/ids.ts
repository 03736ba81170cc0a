/**
 * custom_ids of the session buttons and form. They come back from Discord as member-controlled
 * input: parsed strictly here, and every handler re-checks what they name against the store.
 */
export type SessionComponent =
  | { action: 'enter'; sessionId: string }
  | { action: 'entry'; sessionId: string }
  | { action: 'vote'; sessionId: string; round: number; entry: number };

/** 🎨 Enter on the panel: opens the prompt form. */
export const sessionEnterId = (sessionId: string) => `session:enter:${sessionId}`;
/** The prompt form the 🎨 Enter button opens. */
export const sessionEntryFormId = (sessionId: string) => `session:entry:${sessionId}`;
export const sessionVoteId = (sessionId: string, round: number, entry: number) => `session:vote:${sessionId}:${round}:${entry}`;

const enterPattern = /^session:(enter|entry):(\d{15,20})$/;
const votePattern = /^session:vote:(\d{15,20}):([1-9]|10):([1-9]\d{0,2})$/;

export function parseSessionComponent(customId: string): SessionComponent | undefined {
  const enter = enterPattern.exec(customId);
  if (enter) return { action: enter[1] as 'enter' | 'entry', sessionId: enter[2]! };
  const vote = votePattern.exec(customId);
  if (vote) return { action: 'vote', sessionId: vote[1]!, round: Number(vote[2]), entry: Number(vote[3]) };
  return undefined;
}
