-- stripe_fdw administration: let a role that is not a superuser run the cache and the syncs.
-- On Supabase the extension is created by supabase_admin, and `postgres`, which runs the app's
-- migrations, is no superuser: without this it cannot call create_cache() or create_sync().

create function stripe_fdw.grant_admin(role regrole) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    execute pg_catalog.format('grant usage on schema stripe_fdw to %s', role);
    execute pg_catalog.format(
        'grant select, insert, update, delete on all tables in schema stripe_fdw to %s', role);
    execute pg_catalog.format('grant usage, select on all sequences in schema stripe_fdw to %s', role);
    execute pg_catalog.format('grant execute on function stripe_fdw._registrants(oid, text) to %s', role);
    execute pg_catalog.format('grant execute on function stripe_fdw._json_registrants(text, text) to %s', role);
    -- The accounts' signing secrets, and the full reads the stripe-sync function hands over for
    -- the owner's tables, are the owner's alone (sql/sources.sql, sql/json_worker.sql).
    execute pg_catalog.format('revoke all on stripe_fdw.account_secrets, stripe_fdw.json_sync_runs, '
                              'stripe_fdw.json_snapshot from %s', role);
    -- Which tables stand for which objects is read by every sync (sql/sources.sql); written by
    -- the owner only.
    execute pg_catalog.format('revoke insert, update, delete on stripe_fdw.accounts, stripe_fdw.json_sources from %s', role);
end
$$;

revoke execute on function stripe_fdw.grant_admin(regrole) from public;

comment on function stripe_fdw.grant_admin(regrole) is
    'Let a role (e.g. Supabase''s postgres) run create_cache, refresh_cache, create_sync and sync: usage on schema stripe_fdw and rights on its bookkeeping tables. Run it as a superuser, once.';
