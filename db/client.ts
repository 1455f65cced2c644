import postgres from 'postgres';

export type Sql = postgres.Sql;

export interface DbOptions {
  /** postgres:// connection string. */
  readonly url: string;
  /** Pool size; default 10. */
  readonly max?: number;
}

/** Opens a pooled connection; numeric/bigint columns come back as JS numbers (sizes stay far below 2^53). */
export function createDb(opts: DbOptions): Sql {
  return postgres(opts.url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    // int8 → number: byte sizes stay far below 2^53, and JSON cannot carry BigInt.
    types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
    transform: { undefined: null },
  });
}
