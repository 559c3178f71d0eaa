/** The conditions of a query with optional filters: columns equal to a value, and a time column in [from, to). */
export interface Filters {
  equal?: Readonly<Record<string, string | number | undefined>>;
  time?: { column: string; from: number | undefined; to: number | undefined };
}

/** `WHERE …` (or '') for the filters that are set, with its arguments in order; column names come from code, never from input. */
export function whereOf(f: Filters, extra: readonly string[] = []): { sql: string; args: (string | number)[] } {
  const where = [...extra];
  const args: (string | number)[] = [];
  for (const [column, v] of Object.entries(f.equal ?? {})) {
    if (v === undefined) continue;
    where.push(`${column} = ?`);
    args.push(v);
  }
  const t = f.time;
  if (t?.from !== undefined) {
    where.push(`${t.column} >= ?`);
    args.push(t.from);
  }
  if (t?.to !== undefined) {
    where.push(`${t.column} < ?`);
    args.push(t.to);
  }
  return { sql: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', args };
}
