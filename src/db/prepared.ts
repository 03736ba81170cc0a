import pg from 'pg';

/**
 * Distinct statements prepared per process at most; any beyond are sent as before (parsed each
 * time). Each connection keeps a plan for each one it ran, so this bounds the server's memory too.
 */
export const MAX_PREPARED_STATEMENTS = 300;
/** Texts remembered as seen once (a text is prepared on its second use); forgotten all at once when full. */
const SEEN_ONCE_LIMIT = 2_000;

const CACHED_PLAN_CHANGED = 'cached plan must not change result type';

/**
 * Names for SQL texts. A query with parameters that runs again is sent as a named prepared
 * statement: each connection parses and plans its text once, then only binds and executes it. The
 * hot path runs the same few statements for every picture, and parsing and planning them each
 * time was most of the database server's work. A text used once (a rare query, an id list of an
 * unusual length) is never prepared.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private readonly seenOnce = new Set<string>();
  private issued = 0;

  constructor(private readonly max = MAX_PREPARED_STATEMENTS) {}

  /** The text's statement name from its second use on, or undefined (then it runs unprepared). */
  nameOf(text: string): string | undefined {
    const name = this.names.get(text);
    if (name !== undefined || this.names.size >= this.max) return name;
    if (!this.seenOnce.has(text)) {
      if (this.seenOnce.size >= SEEN_ONCE_LIMIT) this.seenOnce.clear();
      this.seenOnce.add(text);
      return undefined;
    }
    this.seenOnce.delete(text);
    this.issued += 1;
    const issued = `atelier_${this.issued}`;
    this.names.set(text, issued);
    return issued;
  }

  /** The next use of the text prepares it again, under a new name. */
  forget(text: string): void {
    this.names.delete(text);
  }
}

/**
 * A pg client class whose parameterised queries are prepared statements (see StatementNames).
 * When the tables a statement reads change shape under a running process (a migration during a
 * rolling upgrade), PostgreSQL refuses the old plan once; that query is sent again unprepared and
 * the next use prepares the new shape.
 */
export function preparingClient(names: StatementNames): typeof pg.Client {
  return class PreparingClient extends pg.Client {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg's query() is a set of overloads; only (text, values) is changed
    override query(...args: any[]): any {
      const [text, values] = args as [unknown, unknown];
      if (args.length !== 2 || typeof text !== 'string' || !Array.isArray(values) || values.length === 0) {
        return (super.query as (...rest: unknown[]) => unknown)(...args);
      }
      const name = names.nameOf(text);
      if (name === undefined) return super.query(text, values);
      return super.query({ name, text, values }).catch((error: unknown) => {
        if (!(error instanceof Error) || error.message !== CACHED_PLAN_CHANGED) throw error;
        names.forget(text);
        return super.query(text, values);
      });
    }
  };
}
