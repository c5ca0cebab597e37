-- stripe_fdw cache, part two: refresh_cache(), mark_cache_stale() and the cache_status view.
-- Needs sql/cache.sql (the registry). A refresh is REFRESH MATERIALIZED VIEW: CONCURRENTLY once the
-- cache is populated and has its unique index on id, so readers are never blocked and see the old
-- rows until it commits. Its success is recorded by the event trigger of sql/cache_events.sql (the
-- same for a REFRESH typed by hand or run by pg_cron); refresh_cache() records failures.

-- Refresh one cache now. Raises what the live read raises; the old rows stay.
create function stripe_fdw._refresh_one(o text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    reg stripe_fdw.cache_registry;
begin
    select * into reg from stripe_fdw.cache_registry r where r.object = o;
    if stripe_fdw._rel(reg.source_schema, reg.source_name) is null then
        raise exception 'stripe_fdw: the source table %.% of cache "%" no longer exists',
                        reg.source_schema, reg.source_name, o
            using errcode = '42P01', hint = 'Import it again, or drop the cache schema and delete its rows from stripe_fdw.cache_registry.';
    end if;
    -- The materialized view's lock is taken before the read: two refreshes of one cache never
    -- overlap, so the one that read last writes last.
    execute pg_catalog.format('refresh materialized view %s%s',
                              case when stripe_fdw._refreshes_concurrently(reg.cache_relation)
                                   then 'concurrently ' else '' end,
                              reg.cache_relation);
end
$$;

-- Whether REFRESH MATERIALIZED VIEW CONCURRENTLY works on a cache: it is populated and has a valid
-- unique index on plain columns, with no predicate (id_key on id). A cache without an id column
-- (keyed by attrs->>'id', or not at all) is refreshed whole, holding off its readers meanwhile.
create function stripe_fdw._refreshes_concurrently(rel regclass) returns bool
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce((select c.relispopulated from pg_catalog.pg_class c where c.oid = rel), false)
       and exists (select from pg_catalog.pg_index i
                    where i.indrelid = rel and i.indisunique and i.indisvalid
                      and i.indexprs is null and i.indpred is null)
$$;

-- Record a failed refresh that began at t0 (a success is recorded by the event trigger,
-- sql/cache_events.sql). An insert: it locks no row a webhook needs.
create function stripe_fdw._refresh_failed(o text, t0 timestamptz, err text) returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
    insert into stripe_fdw.cache_refreshes (object, started, finished, error)
    values (o, t0, pg_catalog.clock_timestamp(), err)
$$;

-- What is known of each cache the caller may see, from cache_refreshes: its last success (when it
-- began, how long it took), the last failure after it, and since when it is
-- stale: a mark_cache_stale() at or after the last success began (one before it was read by it).
create function stripe_fdw._cache_state()
returns table (object text, refreshed_at timestamptz, duration interval,
               last_error text, last_error_at timestamptz, stale_since timestamptz)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select r.object, s.started, s.finished - s.started, f.error, f.finished,
           case when r.marked_at >= coalesce(s.started, '-infinity') then
                case when r.stale_since >= coalesce(s.started, '-infinity') then r.stale_since else r.marked_at end
           end
      from stripe_fdw.cache_registry r
      left join lateral (select x.seq, x.started, x.finished from stripe_fdw.cache_refreshes x
                          where x.object = r.object and x.error is null order by x.seq desc limit 1) s on true
      left join lateral (select x.error, x.finished from stripe_fdw.cache_refreshes x
                          where x.object = r.object and x.error is not null and x.seq > coalesce(s.seq, 0)
                          order by x.seq desc limit 1) f on true
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
            raise exception 'stripe_fdw: cache "%" was made for another role; only that role refreshes it with refresh_cache()', k
                using errcode = '42501', hint = 'Refresh it as the role that made it with create_cache().';
        end if;
        return array[k];
    end if;
    -- Caches whose materialized view was dropped are left out (and forgotten by _refresh_run,
    -- under the write lock).
    return (select coalesce(array_agg(r.object order by st.stale_since nulls last, r.object), '{}')
              from stripe_fdw.cache_registry r
              join stripe_fdw._cache_state() st on st.object = r.object
             where stripe_fdw._acts_for(r.owner)
               and exists (select from pg_catalog.pg_class c where c.oid = r.cache_relation));
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

-- Refresh one cache (object) or all of them (null; stale ones first), each on its own: REFRESH
-- it, record a failure in the registry, COMMIT when the context allows it. Hands back the first error (its detail lists every cache that failed).
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
        e_state := null;
        t0 := pg_catalog.clock_timestamp();
        begin
            perform stripe_fdw._refresh_one(o);
        exception when others then
            get stacked diagnostics e_state = returned_sqlstate, e_msg = message_text,
                                    e_detail = pg_exception_detail, e_hint = pg_exception_hint;
            -- No engine lock: inside the caller's transaction it would be held across the next
            -- caches' reads of Stripe (and an insert waits for no webhook).
            perform stripe_fdw._refresh_failed(o, t0, e_msg);
        end;
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
        -- Forget the caller's caches whose materialized view was dropped.
        perform stripe_fdw._write_lock();
        with gone as (
            delete from stripe_fdw.cache_registry r
             where stripe_fdw._acts_for(r.owner)
               and not exists (select from pg_catalog.pg_class c where c.oid operator(pg_catalog.=) r.cache_relation)
            returning r.object)
        delete from stripe_fdw.cache_refreshes x using gone g where x.object operator(pg_catalog.=) g.object;
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
        -- A mark before the last successful refresh began was read by it: a new streak starts.
        update stripe_fdw.cache_registry r
           set stale_since = case when r.stale_since is null
                                    or r.marked_at < (select x.started from stripe_fdw.cache_refreshes x
                                                       where x.object = r.object and x.error is null
                                                       order by x.seq desc limit 1)
                                  then pg_catalog.clock_timestamp() else r.stale_since end,
               marked_at = pg_catalog.clock_timestamp()
         where r.source_object = $1 or r.object = $1
        returning 1)
    select pg_catalog.count(*)::integer from marked
$$;

comment on function stripe_fdw.mark_cache_stale(text) is
    'Mark every cache of a Stripe object (''products'') or one cache (''stripe_cache.products'') stale; returns how many';

-- The rows a cache holds now (null when the caller may not read it or it is not populated).
create function stripe_fdw._row_count(rel regclass) returns bigint
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    n bigint;
begin
    if rel is null or not pg_catalog.has_table_privilege(rel, 'select')
       or not (select c.relispopulated from pg_catalog.pg_class c where c.oid = rel) then
        return null;
    end if;
    execute pg_catalog.format('select pg_catalog.count(*) from %s', rel) into n;
    return n;
end
$$;

-- populated is the materialized view's own flag (a restore that could not reach Stripe leaves it
-- false whatever the dumped registry says); row_count is counted, never a remembered figure.
create view stripe_fdw.cache_status as
select s.object, s.cache_relation, s.populated, s.refreshed_at, s.age,
       s.row_count, s.duration, s.stale_since, s.last_error, s.last_error_at,
       case when not s.populated then
                'Not populated (never refreshed, or restored while Stripe was unreachable): reading it is an error. Run: refresh materialized view '
                || s.cache_relation::text || ';'
            when s.last_error is not null then
                'The last refresh failed; the rows are those of refreshed_at. Fix the error, then run: call stripe_fdw.refresh_cache();'
            when s.stale_since is not null then
                'Marked stale: the next call stripe_fdw.refresh_cache() refreshes it first.'
       end as hint
  from (select r.object, c.oid::regclass as cache_relation, c.relispopulated as populated,
               st.refreshed_at,
               case when st.refreshed_at is not null
                    then greatest(pg_catalog.now() - st.refreshed_at, interval '0') end as age,
               stripe_fdw._row_count(c.oid::regclass) as row_count,
               st.duration, st.stale_since, st.last_error, st.last_error_at
          from stripe_fdw.cache_registry r
          join pg_catalog.pg_class c on c.oid = r.cache_relation
          join stripe_fdw._cache_state() st on st.object = r.object
         where stripe_fdw._acts_for(r.owner)) s
 order by s.object;

comment on view stripe_fdw.cache_status is
    'One row per stripe_fdw cache: populated or not, when it was refreshed, how old it is, the rows it holds now, stale_since, its last error and what to do (hint)';
