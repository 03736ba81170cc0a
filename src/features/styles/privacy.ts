import type { MemberDataDeleter } from '../../bot/privacy.js';
import { StyleStore } from './store.js';

/** /privacy: the member no longer shows as a style's author or borrower (the credit lines go). */
export const stylesDataDeleter: MemberDataDeleter = {
  name: 'style credits removed',
  deleteMemberData: (ctx, userId) => new StyleStore(ctx.db).forgetMember(userId),
};
