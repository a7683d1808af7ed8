/**
 * An in-memory DuckDB: the independent Parquet reader `verify` and the tests use (a writer should
 * not check itself). Loaded on use: the native module costs every other command its start-up.
 */
export type DuckDbRow = Record<string, unknown>;

export interface DuckDb {
  /** Runs `sql` and returns every row as a plain object. */
  all(sql: string): Promise<DuckDbRow[]>;
  close(): void;
}

export async function openDuckDb(): Promise<DuckDb> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  return {
    all: async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJS() as DuckDbRow[],
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
