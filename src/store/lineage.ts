import type { Redis } from 'ioredis';

/**
 * The other half of lineage. Image records already name their parent (`parentId`); this keeps the
 * way down: per image, the images made from it (the first image of each child set, by creation
 * time). It also remembers which images a message shows (for /lineage with a message link) and the
 * names members had when they made something (tree labels outlive the 90-day job records).
 * Written when a result is delivered, so only pictures that reached Discord are in a family.
 */
export class LineageStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private childrenKey(imageId: string) {
    return `${this.prefix}:lineage:${imageId}:children`;
  }

  private messageKey(messageId: string) {
    return `${this.prefix}:message:${messageId}:images`;
  }

  private get namesKey() {
    return `${this.prefix}:names`;
  }

  async addChild(parentImageId: string, childImageId: string, createdAt: number): Promise<void> {
    await this.redis.zadd(this.childrenKey(parentImageId), 'NX', createdAt, childImageId);
  }

  /** Children of any of the given images (one set's images share a family), oldest first. */
  async childrenOf(imageIds: readonly string[]): Promise<string[]> {
    const lists = await Promise.all(imageIds.map((id) => this.redis.zrange(this.childrenKey(id), 0, '-1', 'WITHSCORES')));
    const scored: Array<{ id: string; at: number }> = [];
    for (const flat of lists) for (let i = 0; i + 1 < flat.length; i += 2) scored.push({ id: flat[i]!, at: Number(flat[i + 1]) });
    scored.sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
    return [...new Set(scored.map((entry) => entry.id))];
  }

  async setMessageImages(messageId: string, imageIds: readonly string[]): Promise<void> {
    if (imageIds.length > 0) await this.redis.set(this.messageKey(messageId), JSON.stringify(imageIds));
  }

  async imagesOfMessage(messageId: string): Promise<string[]> {
    const raw = await this.redis.get(this.messageKey(messageId));
    return raw ? (JSON.parse(raw) as string[]) : [];
  }

  async rememberName(userId: string, name: string): Promise<void> {
    await this.redis.hset(this.namesKey, userId, name.slice(0, 64));
  }

  async forgetName(userId: string): Promise<void> {
    await this.redis.hdel(this.namesKey, userId);
  }

  async names(userIds: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(userIds)];
    if (unique.length === 0) return new Map();
    const values = await this.redis.hmget(this.namesKey, ...unique);
    const names = new Map<string, string>();
    unique.forEach((id, i) => {
      if (values[i]) names.set(id, values[i]!);
    });
    return names;
  }
}
