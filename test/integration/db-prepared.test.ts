import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatementNames } from '../../src/db/prepared.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

describe('prepared statements on a PostgreSQL server', () => {
  let database: TestDatabase;

  beforeEach(async () => {
    // One connection: what it prepared is what pg_prepared_statements shows.
    database = await createTestDatabase({ maxConnections: 1 });
    await sql`create table notes (id int primary key, body text)`.execute(database.db);
    await sql`insert into notes values (1, 'one'), (2, 'two')`.execute(database.db);
  });

  afterEach(async () => {
    await database.drop();
  });

  const prepared = async () =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(database.db)).rows.map((row) => row.statement);

  it('prepares a query with parameters on its second use, once, and runs it with other values', async () => {
    const read = (id: number) =>
      database.db
        .selectFrom('notes' as never)
        .select(sql<string>`body`.as('body'))
        .where(sql.ref('id'), '=', id)
        .executeTakeFirst();
    expect(await read(1)).toEqual({ body: 'one' });
    expect(await read(2)).toEqual({ body: 'two' });
    expect(await read(3)).toBeUndefined();
    const statements = (await prepared()).filter((text) => text.includes('"notes"'));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toContain('$1');
  });

  it('leaves a query without parameters unprepared (several statements in one text still run)', async () => {
    await sql`update notes set body = 'uno' where id = 1; update notes set body = 'dos' where id = 2`.execute(database.db);
    const rows = (await sql<{ body: string }>`select body from notes order by id`.execute(database.db)).rows;
    expect(rows.map((row) => row.body)).toEqual(['uno', 'dos']);
    expect((await prepared()).some((text) => text.includes('update notes'))).toBe(false);
  });

  it('answers with the new shape after the table changed under a prepared statement', async () => {
    const read = async (id: number) => (await sql<Record<string, unknown>>`select * from notes where id = ${id}`.execute(database.db)).rows[0];
    expect(await read(1)).toEqual({ id: 1, body: 'one' });
    expect(await read(2)).toEqual({ id: 2, body: 'two' });
    expect((await prepared()).some((text) => text.includes('from notes'))).toBe(true);
    await sql`alter table notes add column stars int not null default 5`.execute(database.db);
    expect(await read(1)).toEqual({ id: 1, body: 'one', stars: 5 });
    expect(await read(2)).toEqual({ id: 2, body: 'two', stars: 5 });
  });

  it('keeps parameters as values: text that looks like SQL is only data', async () => {
    const hostile = `'); drop table notes; --`;
    await sql`insert into notes values (${3}, ${hostile})`.execute(database.db);
    const row = (await sql<{ body: string }>`select body from notes where id = ${3}`.execute(database.db)).rows[0];
    expect(row?.body).toBe(hostile);
    expect((await sql<{ n: number }>`select count(*)::int as n from notes`.execute(database.db)).rows[0]?.n).toBe(3);
  });
});

describe('StatementNames', () => {
  it('names a text from its second use on, one name each, and none past its limit', () => {
    const names = new StatementNames(2);
    expect(names.nameOf('select $1')).toBeUndefined();
    const first = names.nameOf('select $1');
    expect(first).toBeDefined();
    expect(names.nameOf('select $1')).toBe(first);
    expect(names.nameOf('select $1, $2')).toBeUndefined();
    const second = names.nameOf('select $1, $2');
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    names.nameOf('select $1, $2, $3');
    expect(names.nameOf('select $1, $2, $3')).toBeUndefined();
  });

  it('names a forgotten text anew', () => {
    const names = new StatementNames();
    names.nameOf('select $1');
    const first = names.nameOf('select $1');
    names.forget('select $1');
    names.nameOf('select $1');
    const again = names.nameOf('select $1');
    expect(again).toBeDefined();
    expect(again).not.toBe(first);
  });
});
