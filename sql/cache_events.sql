-- stripe_fdw cache, part four: the event trigger that records every REFRESH MATERIALIZED VIEW of a
-- cache in the registry (cache_status): by refresh_cache(), by hand, or from pg_cron alike.
-- Needs sql/cache.sql (the registry, cache_refreshes). It runs in the REFRESH's own transaction,
-- which may be the caller's (BEGIN; REFRESH ...; more work; COMMIT): so it takes no engine lock
-- (held there, it would stall every webhook and sync) and locks no registry row (a webhook
-- marking the cache stale would wait for that COMMIT): it only inserts into cache_refreshes.

-- When the REFRESH began (its start trigger), transaction-local: what a refresh records as
-- refreshed_at and measures its duration from. Written in ISO form in UTC, microseconds
-- included, so no session setting (DateStyle, TimeZone, extra_float_digits) changes it.
create function stripe_fdw._refresh_begins() returns event_trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform pg_catalog.set_config('stripe_fdw_engine.refresh_started',
        pg_catalog.to_char(pg_catalog.clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), true);
end
$$;

-- A REFRESH of a cache succeeded: record when it began, when it ended (ANALYZE included: fresh
-- statistics keep the catalog view's per-product lookups on the index). cache_status counts the
-- rows when it is read, so nothing here scans the view.
-- That clears its last error and its stale mark, unless the mark came in after the REFRESH began
-- (the read may have missed that change): cache_status derives both. SECURITY DEFINER: a member
-- of the cache's owner may refresh it too, and row-level security shows a cache's rows only to
-- its owner itself. It reads the registry row of the refreshed view and writes that cache's
-- refresh rows only; the REFRESH itself ran the view's query as its owner, and ANALYZE evaluates
-- index expressions as the owner.
create function stripe_fdw._refresh_recorded() returns event_trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    cmd record;
    o   text;
    t0  timestamptz;
    s   bigint;
begin
    t0 := coalesce(nullif(pg_catalog.current_setting('stripe_fdw_engine.refresh_started', true), '')::timestamp
                       at time zone 'UTC',
                   pg_catalog.now());
    for cmd in select c.objid from pg_catalog.pg_event_trigger_ddl_commands() c
                where c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
    loop
        -- A registry row counts only when the view's owner is the cache's (a row someone
        -- registered for another role's materialized view is not its cache).
        select r.object into o
          from stripe_fdw.cache_registry r
          join pg_catalog.pg_class c on c.oid = r.cache_relation
         where r.cache_relation = cmd.objid and c.relowner = r.owner::oid;
        -- Not a cache, or REFRESH ... WITH NO DATA (cache_status shows it unpopulated).
        continue when not found
                   or not (select c.relispopulated from pg_catalog.pg_class c where c.oid = cmd.objid);
        execute pg_catalog.format('analyze %s', cmd.objid::regclass);
        insert into stripe_fdw.cache_refreshes (object, started, finished)
        values (o, t0, pg_catalog.clock_timestamp())
        returning seq into s;
        delete from stripe_fdw.cache_refreshes x where x.object = o and x.seq < s;
    end loop;
end
$$;

revoke execute on function stripe_fdw._refresh_recorded() from public;

create event trigger stripe_fdw_refresh_begins on ddl_command_start
    when tag in ('REFRESH MATERIALIZED VIEW') execute function stripe_fdw._refresh_begins();
create event trigger stripe_fdw_refresh_recorded on ddl_command_end
    when tag in ('REFRESH MATERIALIZED VIEW') execute function stripe_fdw._refresh_recorded();
