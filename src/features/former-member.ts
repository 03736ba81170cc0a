/**
 * Stands for the author of something whose member deleted their data (/privacy): never named,
 * never scored, shown as "a former member". In PostgreSQL such rows keep `user_id` NULL.
 */
export const DELETED_MEMBER = 'deleted';
