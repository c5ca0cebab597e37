// The one PostgreSQL connection pool of the app, from DATABASE_URL (a Supabase connection string works).
import postgres from 'postgres';

const globalForSql = globalThis as unknown as { sql?: postgres.Sql };

// Created on first use, so that `next build` needs no database.
export function db(): postgres.Sql {
  if (!globalForSql.sql) {
    const url = process.env.DATABASE_URL;
    if (!url) {
      throw new Error('DATABASE_URL is not set: point it at the database that has stripe_fdw');
    }
    // prepare: false works behind Supabase's transaction pooler (port 6543) as well as directly.
    globalForSql.sql = postgres(url, { max: 5, prepare: false });
  }
  return globalForSql.sql;
}
