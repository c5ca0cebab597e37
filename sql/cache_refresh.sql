-- stripe_fdw cache, part two: refresh_cache(), mark_cache_stale() and the cache_status view.
-- Needs sql/cache.sql (the registry) and sql/sync_write.sql (_sync_write): a refresh is the sync
-- engine's, with the cache's rows table as a column-for-column copy of its source: read the source
-- once, and write only the difference (delete the gone, update the changed, insert the new), matched
-- by id, else attrs->>'id', else replaced whole. Readers are never blocked and see the old rows
-- until it commits.

-- Refresh one cache now; returns the number of rows it holds. Raises what the live read raises.
create function stripe_fdw._refresh_one(o text) returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    reg stripe_fdw.cache_registry;
    src regclass;
    k   record;
    n   bigint;
    step stripe_fdw._sync_step;
begin
    select * into reg from stripe_fdw.cache_registry r where r.object = o;
    src := pg_catalog.to_regclass(pg_catalog.format('%I.%I', reg.source_schema, reg.source_name));
    if src is null then
        raise exception 'stripe_fdw: the source table %.% of cache "%" no longer exists',
                        reg.source_schema, reg.source_name, o
            using errcode = '42P01', hint = 'Import it again, or drop the cache schema and delete its rows from stripe_fdw.cache_registry.';
    end if;
    select * into k from stripe_fdw._key_of(reg.storage);
    -- Read (no lock), then write under the write lock: only what this read may replace.
    step := stripe_fdw._sync_copy_stage(reg.storage, src, k.key_col, k.key_field);
    perform stripe_fdw._sync_write(array[step], 'cache refresh');
    perform stripe_fdw._sync_unstage(array[step]);
    execute pg_catalog.format('select pg_catalog.count(*) from %s', reg.storage) into n;
    -- Fresh statistics: without them the catalog view's per-product lookups plan as sequential
    -- scans (5 s instead of 0.3 s for 10,000 products).
    execute pg_catalog.format('analyze %s', reg.storage);
    return n;
end
$$;

-- Record a refresh's outcome in the registry.
create function stripe_fdw._refresh_done(o text, t0 timestamptz, n bigint, err text) returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
    update stripe_fdw.cache_registry r
       set refreshed_at = case when err is null then t0 else r.refreshed_at end,
           row_count = case when err is null then n else r.row_count end,
           duration = case when err is null then pg_catalog.clock_timestamp() - t0 else r.duration end,
           populated = r.populated or err is null,
           -- A mark that came in while this refresh ran still stands (since that mark).
           stale_since = case when err is not null then r.stale_since
                              when r.marked_at >= t0 then r.marked_at end,
           last_error = err,
           last_error_at = case when err is null then null else pg_catalog.clock_timestamp() end
     where r.object = o
$$;

-- The caches refresh_cache(object) works on: one, or all (stale ones first, oldest mark first).
create function stripe_fdw._refresh_list(object text) returns text[]
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    k text;
begin
    if object is not null then
        k := stripe_fdw._resolve(object);
        if not stripe_fdw._acts_for((select r.owner from stripe_fdw.cache_registry r where r.object = k)) then
            raise exception 'stripe_fdw: cache "%" was made for another role; only that role (or its members) refreshes it', k
                using errcode = '42501', hint = 'Refresh it as the role that made it with create_cache().';
        end if;
        return array[k];
    end if;
    -- Caches whose rows table was dropped are left out (and forgotten by _refresh_run, under the
    -- write lock); a dropped view alone: create_cache() makes it again over the same rows.
    return (select coalesce(array_agg(r.object order by r.stale_since nulls last, r.object), '{}')
              from stripe_fdw.cache_registry r
             where stripe_fdw._acts_for(r.owner)
               and exists (select from pg_catalog.pg_class c where c.oid = r.storage));
end
$$;

-- The error COMMIT raises in an atomic context (a function is always one).
create function stripe_fdw._atomic_commit_error() returns text
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    m text;
begin
    begin
        commit;
    exception when invalid_transaction_termination then
        get stacked diagnostics m = message_text;
    end;
    return m;
end
$$;

-- Refresh one cache (object) or all of them (null; stale ones first), each on its own: read,
-- write under the write lock, record the outcome in the registry, COMMIT when the context allows
-- it. Hands back the first error (its detail lists every cache that failed).
create procedure stripe_fdw._refresh_run(
    p_object   text,
    inout err_state  text default null,
    inout err_msg    text default null,
    inout err_detail text default null,
    inout err_hint   text default null)
language plpgsql
as $$
declare
    saved text := stripe_fdw._pin();
    probe    text;
    objs     text[];
    o        text;
    t0       timestamptz;
    n        bigint;
    e_state  text;
    e_msg    text;
    e_detail text;
    e_hint   text;
    failed   text[] := '{}';
begin
    begin
        commit;
    exception when invalid_transaction_termination then
        get stacked diagnostics probe = message_text;
    end;
    objs := stripe_fdw._refresh_list(p_object);
    foreach o in array objs loop
        t0 := pg_catalog.clock_timestamp();
        e_state := null;
        begin
            n := stripe_fdw._refresh_one(o);
        exception when others then
            get stacked diagnostics e_state = returned_sqlstate, e_msg = message_text,
                                    e_detail = pg_exception_detail, e_hint = pg_exception_hint;
        end;
        perform stripe_fdw._write_lock();
        perform stripe_fdw._refresh_done(o, t0, n, case when e_state is not null then e_msg end);
        if e_state is not null then
            failed := failed || o;
            if err_state is null then
                err_state := e_state; err_msg := e_msg; err_detail := e_detail; err_hint := e_hint;
            end if;
        end if;
        if stripe_fdw._can_commit(probe) then
            commit;
            perform stripe_fdw._pin();
        end if;
    end loop;
    if p_object is null then
        -- Forget the caller's caches whose rows table was dropped.
        perform stripe_fdw._write_lock();
        delete from stripe_fdw.cache_registry r
         where stripe_fdw._acts_for(r.owner)
           and not exists (select from pg_catalog.pg_class c where c.oid operator(pg_catalog.=) r.storage);
    end if;
    if err_state is not null and pg_catalog.cardinality(failed) operator(pg_catalog.>) 1 then
        err_detail := pg_catalog.concat_ws(E'\n', nullif(err_detail, ''),
                          'stripe_fdw: caches that failed to refresh: ' operator(pg_catalog.||) pg_catalog.array_to_string(failed, ', '));
    end if;
    perform pg_catalog.set_config('search_path', saved, true);
end
$$;

-- Refresh one cache (object) or all of them (null; stale ones first). A PROCEDURE: after a failure
-- it records the error in the registry and COMMITs before re-raising, so cache_status shows it
-- while the error still reaches the caller (and pg_cron marks the run failed). Inside an explicit
-- transaction block COMMIT is impossible: then the error is raised and the status is not recorded.
-- PostgreSQL forbids COMMIT in a procedure with a SET clause, so the procedures pin search_path
-- themselves (stripe_fdw._enter() at a public entry point, _pin() inside; again after each COMMIT)
-- and qualify every name.
create procedure stripe_fdw.refresh_cache(object text default null)
language plpgsql
as $$
declare
    saved text := stripe_fdw._enter();
    st    text;
    msg   text;
    det   text;
    hnt   text;
begin
    call stripe_fdw._refresh_run(object, st, msg, det, hnt);
    perform stripe_fdw._finish(saved, st, msg, det, hnt);
end
$$;

comment on procedure stripe_fdw.refresh_cache(text) is
    'Refresh one cache or all, stale ones first (CALL, not SELECT); on failure the old rows stay, the error is recorded in cache_status and re-raised';

-- Mark caches stale (the webhook handler calls it when Stripe says an object changed):
-- object is a Stripe object as the foreign tables' `object` option names it ('products',
-- 'prices'): every cache of it; or one cache by its registry name ('stripe_cache.products').
-- Returns how many caches were marked (0: none caches that). The next refresh_cache() without an
-- argument refreshes them first; a successful refresh clears the mark.
create function stripe_fdw.mark_cache_stale(object text) returns integer
language sql
set search_path = pg_catalog, pg_temp
as $$
    with marked as (
        update stripe_fdw.cache_registry r
           set stale_since = coalesce(r.stale_since, pg_catalog.clock_timestamp()),
               marked_at = pg_catalog.clock_timestamp()
         where r.source_object = $1 or r.object = $1
        returning 1)
    select pg_catalog.count(*)::integer from marked
$$;

comment on function stripe_fdw.mark_cache_stale(text) is
    'Mark every cache of a Stripe object (''products'') or one cache (''stripe_cache.products'') stale; returns how many';

-- The rows a cache's table holds now (null when the caller may not read it).
create function stripe_fdw._row_count(rel regclass) returns bigint
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    n bigint;
begin
    if rel is null or not pg_catalog.has_table_privilege(rel, 'select') then
        return null;
    end if;
    execute pg_catalog.format('select pg_catalog.count(*) from %s', rel) into n;
    return n;
end
$$;

create view stripe_fdw.cache_status as
select s.object, s.cache_relation, s.populated, s.refreshed_at, s.age,
       s.row_count, s.duration, s.stale_since, s.last_error, s.last_error_at,
       case when s.cache_relation is null then
                'Its view was dropped; the rows are kept. Make it again: select stripe_fdw.create_cache('
                || pg_catalog.quote_literal(s.source_schema) || ', ' || pg_catalog.quote_literal(s.cache_schema) || ');'
            when not s.populated then
                'Never refreshed: it has no rows and reading it is an error. Run: call stripe_fdw.refresh_cache();'
            when s.row_count <> s.refreshed_rows then
                'It holds ' || s.row_count || ' rows where its last refresh stored '
                || s.refreshed_rows || ' (restored without its data?). Run: call stripe_fdw.refresh_cache();'
            when s.last_error is not null then
                'The last refresh failed; the rows are those of refreshed_at. Fix the error, then run: call stripe_fdw.refresh_cache();'
            when s.stale_since is not null then
                'Marked stale: the next call stripe_fdw.refresh_cache() refreshes it first.'
       end as hint
  from (select r.object,
               (select c.oid::regclass from pg_catalog.pg_class c where c.oid = r.cache_relation) as cache_relation,
               r.source_schema, r.cache_schema, r.populated, r.refreshed_at,
               case when r.refreshed_at is not null
                    then greatest(pg_catalog.now() - r.refreshed_at, interval '0') end as age,
               case when r.populated then stripe_fdw._row_count(r.storage) end as row_count,
               case when r.populated then r.row_count end as refreshed_rows,
               r.duration, r.stale_since, r.last_error, r.last_error_at
          from stripe_fdw.cache_registry r
         where exists (select from pg_catalog.pg_class c where c.oid = r.storage)
           and stripe_fdw._acts_for(r.owner)) s
 order by s.object;

comment on view stripe_fdw.cache_status is
    'One row per stripe_fdw cache: populated or not, when it was refreshed, how old it is, the rows it holds now, stale_since, its last error and what to do (hint)';
