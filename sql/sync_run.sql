-- stripe_fdw sync, part three: CALL stripe_fdw.sync(), its record (sync_status), sync_drift(), and
-- refresh_all(), which the pg_cron job of schedule_refresh runs (every sync, then every cache).
-- Needs sql/sync_apply.sql and sql/cache.sql (_atomic_commit_error, refresh_cache).
--
-- The procedures cannot pin search_path with SET: PostgreSQL refuses COMMIT in a procedure that has a SET
-- clause. So their bodies only call schema-qualified functions of this extension, which do.

-- Given the message of a COMMIT tried inside an exception block, could the caller commit? Inside
-- a block COMMIT always fails, but with 'cannot commit while a subtransaction is active' when the
-- context could commit, and with the same error as in a function (always atomic) when it could
-- not (compared with that reference, so it works in any lc_messages).
create function stripe_fdw._can_commit(probe_message text) returns bool
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    select probe_message is distinct from stripe_fdw._atomic_commit_error()
$$;

-- Run _sync_apply over p_targets and return what it did as JSON: [{target, inserted, updated,
-- deleted}].
create function stripe_fdw._sync_apply_json(p_targets regclass[]) returns jsonb
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'target', a.target::oid, 'inserted', a.inserted, 'updated', a.updated, 'deleted', a.deleted)), '[]')
      from stripe_fdw._sync_apply(p_targets, null) a
$$;

-- Record a run in the registry: its counts, or its error (the counts of the last good run stay).
create function stripe_fdw._sync_record(p_targets regclass[], p_counts jsonb, p_t0 timestamptz, p_error text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    t  regclass;
    n  record;
    c  jsonb;
begin
    foreach t in array p_targets loop
        select x.nsp, x.rel_name into n from stripe_fdw._sync_name(t) x;
        if p_error is null then
            select j into c from pg_catalog.jsonb_array_elements(p_counts) j where (j ->> 'target')::oid = t::oid;
            update stripe_fdw.sync_registry g
               set synced_at = p_t0,
                   inserted = (c ->> 'inserted')::bigint,
                   updated = (c ->> 'updated')::bigint,
                   deleted = (c ->> 'deleted')::bigint,
                   duration = pg_catalog.clock_timestamp() - p_t0,
                   last_error = null,
                   last_error_at = null
             where g.target_schema = n.nsp and g.target_name = n.rel_name;
        else
            update stripe_fdw.sync_registry g
               set last_error = p_error, last_error_at = pg_catalog.clock_timestamp()
             where g.target_schema = n.nsp and g.target_name = n.rel_name;
        end if;
    end loop;
end
$$;

create function stripe_fdw._sync_target_list(p_target regclass) returns regclass[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(t.target), '{}') from stripe_fdw._sync_targets(p_target) t
$$;

-- Sync one target or all (null), record the outcome, COMMIT when the context allows it, and hand
-- the error (if any) back instead of raising it, so that refresh_all() can go on with the caches.
create procedure stripe_fdw._sync_run(
    p_target   regclass,
    inout err_state  text default null,
    inout err_msg    text default null,
    inout err_detail text default null,
    inout err_hint   text default null)
language plpgsql
as $$
declare
    probe      text;
    can_commit bool;
    targets    regclass[];
    counts     jsonb;
    t0         timestamptz;
    saved      text := pg_catalog.current_setting('search_path');
begin
    -- Pinned here, not with SET (see the top of this file); again after the COMMIT below.
    perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    begin
        commit;
    exception when invalid_transaction_termination then
        get stacked diagnostics probe = message_text;
    end;
    can_commit := stripe_fdw._can_commit(probe);
    targets := stripe_fdw._sync_target_list(p_target);
    if pg_catalog.cardinality(targets) operator(pg_catalog.=) 0 then
        perform pg_catalog.set_config('search_path', saved, true);
        return;
    end if;
    t0 := pg_catalog.clock_timestamp();
    begin
        -- A full sync records Stripe's newest event before it reads: where catch_up() starts.
        if p_target is null then
            perform stripe_fdw._events_mark(stripe_fdw._sync_servers());
        end if;
        counts := stripe_fdw._sync_apply_json(targets);
    exception when others then
        get stacked diagnostics err_state = returned_sqlstate, err_msg = message_text,
                                err_detail = pg_exception_detail, err_hint = pg_exception_hint;
    end;
    perform stripe_fdw._sync_record(targets, counts, t0, err_msg);
    if can_commit then
        commit;
    end if;
    perform pg_catalog.set_config('search_path', saved, true);
end
$$;

-- Bring every registered target (or one) to what Stripe holds now, all in one transaction. A
-- PROCEDURE: after a failure it records the error and COMMITs before re-raising, so sync_status
-- shows it while the error still reaches the caller (and pg_cron marks the run failed). Inside an
-- explicit transaction block COMMIT is impossible: the error is raised and not recorded.
create procedure stripe_fdw.sync(target regclass default null)
language plpgsql
as $$
declare
    st  text;
    msg text;
    det text;
    hnt text;
    saved text := pg_catalog.current_setting('search_path');
begin
    perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    call stripe_fdw._sync_run(target, st, msg, det, hnt);
    perform pg_catalog.set_config('search_path', saved, true);
    if st is not null then
        perform stripe_fdw._reraise(st, msg, det, hnt);
    end if;
end
$$;

comment on procedure stripe_fdw.sync(regclass) is
    'Bring every sync target (or one) to what Stripe holds now, in one transaction, writing only rows that differ (CALL, not SELECT); a failure applies nothing, is recorded in sync_status and re-raised';

-- What the pg_cron job of schedule_refresh runs: every sync, then every cache. A failed sync does
-- not stop the caches; the first error is raised at the end (each is in its status view).
create procedure stripe_fdw.refresh_all()
language plpgsql
as $$
declare
    st  text;
    msg text;
    det text;
    hnt text;
    saved text := pg_catalog.current_setting('search_path');
begin
    perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    perform stripe_fdw._reconciled();
    call stripe_fdw._sync_run(null, st, msg, det, hnt);
    perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    perform stripe_fdw._events_mark(stripe_fdw._cache_only_servers());
    call stripe_fdw.refresh_cache();
    perform pg_catalog.set_config('search_path', saved, true);
    if st is not null then
        perform stripe_fdw._reraise(st, msg, det, hnt);
    end if;
end
$$;

comment on procedure stripe_fdw.refresh_all() is
    'CALL stripe_fdw.sync() and then stripe_fdw.refresh_cache(): what the schedule_refresh job runs';

-- What sync(target) would change, against Stripe now: added (Stripe has it, the table not),
-- removed (the table has it, Stripe not), changed (both, some synced column differs).
create function stripe_fdw.sync_drift(target regclass)
returns table (id text, change text)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    steps stripe_fdw._sync_step[];
begin
    if sync_drift.target is null then
        raise exception 'stripe_fdw: sync_drift needs a target' using errcode = '22004';
    end if;
    steps := array(select x from stripe_fdw._sync_stage(stripe_fdw._sync_target_list(sync_drift.target), null) x);
    return query select d.id, d.change from stripe_fdw._sync_diff(steps[1]) d;
    perform stripe_fdw._sync_unstage(steps);
end
$$;

comment on function stripe_fdw.sync_drift(regclass) is
    'Compare a sync target with Stripe now: id + added/removed/changed; empty = in sync. Reads the source like sync() does and writes nothing';

create view stripe_fdw.sync_status as
select pg_catalog.to_regclass(format('%I.%I', g.target_schema, g.target_name)) as target,
       pg_catalog.to_regclass(format('%I.%I', g.source_schema, g.source_name)) as source,
       g.synced_at,
       case when g.synced_at is not null
            then greatest(pg_catalog.now() - g.synced_at, interval '0') end as age,
       g.inserted,
       g.updated,
       g.deleted,
       g.duration,
       g.last_error,
       g.last_error_at
  from stripe_fdw.sync_registry g
 where pg_catalog.to_regclass(format('%I.%I', g.target_schema, g.target_name)) is not null
 order by g.target_schema, g.target_name;

comment on view stripe_fdw.sync_status is
    'One row per sync target: when it was last synced, how old that is, what the last run inserted, updated and deleted, its duration and last error';
