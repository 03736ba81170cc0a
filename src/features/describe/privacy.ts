import type { MemberDataDeleter } from '../../bot/privacy.js';
import { DescribeStore } from './store.js';

/** /privacy: /describe answers no longer name who asked. */
export const describeDataDeleter: MemberDataDeleter = {
  name: 'describe requests made anonymous',
  deleteMemberData: (ctx, userId) => new DescribeStore(ctx.db, ctx.redis, ctx.prefix).forgetMember(userId),
};
