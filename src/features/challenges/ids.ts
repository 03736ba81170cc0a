/**
 * custom_ids of the challenge buttons. They come back from Discord as member-controlled input:
 * parsed strictly here, and every handler re-checks what they name against the store.
 */
export type ChallengeButton = { action: 'submit'; jobId: string; image?: number } | { action: 'vote'; challengeId: string; entryId: number };

/** 🏆 Submit to challenge, on a result (and, with `image`, the 1–4 picker for results of several images). */
export function challengeSubmitId(jobId: string, image?: number): string {
  return image === undefined ? `challenge:submit:${jobId}` : `challenge:submit:${jobId}:${image}`;
}

export function challengeVoteId(challengeId: string, entryId: number): string {
  return `challenge:vote:${challengeId}:${entryId}`;
}

const submitPattern = /^challenge:submit:(\d{15,20})(?::([1-4]))?$/;
const votePattern = /^challenge:vote:([1-9]\d{0,11}):([1-9]\d{0,5})$/;

export function parseChallengeButton(customId: string): ChallengeButton | undefined {
  const submit = submitPattern.exec(customId);
  if (submit) return { action: 'submit', jobId: submit[1]!, image: submit[2] === undefined ? undefined : Number(submit[2]) };
  const vote = votePattern.exec(customId);
  if (vote) return { action: 'vote', challengeId: vote[1]!, entryId: Number(vote[2]) };
  return undefined;
}
