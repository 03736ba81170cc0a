import pg from 'pg';

/** Distinct statements prepared per process at most; any beyond are sent as before (parsed each time). */
export const MAX_PREPARED_STATEMENTS = 1_000;

const CACHED_PLAN_CHANGED = 'cached plan must not change result type';

/**
 * Names for SQL texts. Every query with parameters is sent as a named prepared statement: each
 * connection parses and plans a text once, then only binds and executes it. The hot path runs the
 * same few statements for every picture, and parsing and planning them each time was most of the
 * database server's work.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private issued = 0;

  constructor(private readonly max = MAX_PREPARED_STATEMENTS) {}

  /** The text's statement name, or undefined once `max` texts have one (then it runs unprepared). */
  nameOf(text: string): string | undefined {
    let name = this.names.get(text);
    if (name === undefined && this.names.size < this.max) {
      this.issued += 1;
      name = `atelier_${this.issued}`;
      this.names.set(text, name);
    }
    return name;
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
