import type { MemberDataDeleter } from '../../bot/privacy.js';

/**
 * For /privacy: the votes a member cast (the results' scores and their authors' numbers follow)
 * and their own profile numbers, deleted by member id.
 */
export const votesDataDeleter: MemberDataDeleter = {
  name: 'votes',
  deleteMemberData: (ctx, userId) => ctx.votes.forgetMember(userId),
};
