import type { MemberDataDeleter } from '../../bot/privacy.js';
import { deletePreferences } from './store.js';

/** `/privacy delete-my-data`: the member's personal defaults (/settings). */
export const preferencesDataDeleter: MemberDataDeleter = {
  name: 'personal defaults deleted',
  deleteMemberData: (ctx, userId) => deletePreferences(ctx.db, userId),
};
