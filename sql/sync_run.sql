-- stripe_fdw sync, part three: CALL stripe_fdw.sync(), its record (sync_status), sync_drift(), and
-- refresh_all(), which the pg_cron job of schedule_refresh runs (every sync, then every cache).
-- Needs sql/sync_write.sql, sql/sync_targets.sql and sql/cache.sql (_atomic_commit_error).
--
-- The procedures cannot pin search_path with SET: PostgreSQL refuses COMMIT in a procedure that has
-- a SET clause. So each pins it with stripe_fdw._enter() (public) or _pin() (internal) before its
-- body runs (again after each COMMIT and CALL), and qualifies every name.

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

-- Record a run of the targets of one group in the registry: its counts, or its error (the counts
-- of the last good run stay). repaired: what a scheduled reconciliation (p_scheduled) had to write
-- besides a first fill, the sign that webhooks and catch_up missed something; a sync someone
-- called clears it (they reconciled by hand: nothing is known to be missing now).
create function stripe_fdw._sync_record(p_targets regclass[], p_counts jsonb, p_t0 timestamptz, p_error text,
                                        p_scheduled bool default false)
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
               set repaired = case when p_scheduled and g.synced_at is not null
                                   then (c ->> 'inserted')::bigint + (c ->> 'updated')::bigint + (c ->> 'deleted')::bigint end,
                   synced_at = p_t0,
                   inserted = (c ->> 'inserted')::bigint,
                   updated = (c ->> 'updated')::bigint,
                   deleted = (c ->> 'deleted')::bigint,
                   rows_skipped = (c ->> 'unmapped')::bigint,
                   skip_reasons = array(select pg_catalog.jsonb_array_elements_text(c -> 'unmapped_reasons')),
                   duration = pg_catalog.clock_timestamp() - p_t0,
                   last_error = null,
                   last_error_at = null,
                   skipped = null,
                   skipped_at = null
             where g.target_schema = n.nsp and g.target_name = n.rel_name;
        else
            update stripe_fdw.sync_registry g
               set last_error = p_error, last_error_at = pg_catalog.clock_timestamp()
             where g.target_schema = n.nsp and g.target_name = n.rel_name;
        end if;
    end loop;
end
$$;

-- Read one group of targets from Stripe (all ids): its staged steps. No lock is taken.
create function stripe_fdw._sync_read_group(p_targets regclass[]) returns stripe_fdw._sync_step[]
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    select array(select x from stripe_fdw._sync_stage(p_targets, null) x)
$$;

-- Write one group's read (under the write lock) and return what it did as JSON: [{target,
-- inserted, updated, deleted, reread, skipped, unmapped, unmapped_reasons}].
create function stripe_fdw._sync_write_json(p_steps stripe_fdw._sync_step[], p_what text) returns jsonb
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'target', w.target::oid, 'inserted', w.inserted, 'updated', w.updated, 'deleted', w.deleted,
               'reread', w.reread, 'skipped', w.skipped,
               'unmapped', w.unmapped, 'unmapped_reasons', pg_catalog.to_jsonb(w.unmapped_reasons))), '[]')
      from stripe_fdw._sync_write(p_steps, p_what) w
$$;

-- The engine of sync(): read every group of targets (p_targets: one target's, or all usable),
-- each in a subtransaction of its own, then take the write lock and write each group that was
-- read, again each in its own subtransaction, and record every group's outcome. Reads happen
-- before the lock; one group's failure stops no other. A full sync (p_full) first reads Stripe's
-- newest event per server and moves catch_up()'s starting point there (never back) when every
-- group of that server was applied. p_scheduled: run by the schedule (see _sync_record).
-- Returns the first error (state, message, detail, hint) or nulls, and every group's error
-- (all_errors: {"<group>": [state, message, detail, hint]}); the caller commits.
create function stripe_fdw._sync_groups_run(p_targets regclass[], p_full bool, p_scheduled bool,
    out err_state text, out err_msg text, out err_detail text, out err_hint text, out all_errors jsonb)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    grp     regclass[];
    groups  jsonb := '[]';   -- each group's targets, as OIDs
    read_ok bool[] := '{}';
    errs    jsonb := '{}';
    allst   stripe_fdw._sync_step[] := '{}';
    stgrp   int[] := '{}';
    marks   jsonb;
    k       int;
    st      stripe_fdw._sync_step[];
    counts  jsonb;
    t0      timestamptz := pg_catalog.clock_timestamp();
    e_st    text;
    e_msg   text;
    e_det   text;
    e_hnt   text;
    failed  regclass[] := '{}';
begin
    if p_full then
        marks := stripe_fdw._events_newest(stripe_fdw._servers_of(p_targets));
    end if;
    -- Read every group, before any lock.
    for grp in select g from stripe_fdw._sync_groups(p_targets) g loop
        groups := groups || pg_catalog.jsonb_build_array(pg_catalog.to_jsonb(grp::oid[]));
        k := pg_catalog.jsonb_array_length(groups);
        begin
            st := stripe_fdw._sync_read_group(grp);
            allst := allst || st;
            stgrp := stgrp || pg_catalog.array_fill(k, array[pg_catalog.cardinality(st)]);
            read_ok := read_ok || true;
        exception when others then
            get stacked diagnostics e_st = returned_sqlstate, e_msg = message_text,
                                    e_det = pg_exception_detail, e_hnt = pg_exception_hint;
            errs := errs || pg_catalog.jsonb_build_object(k::text, pg_catalog.jsonb_build_array(e_st, e_msg, e_det, e_hnt));
            read_ok := read_ok || false;
        end;
    end loop;
    -- Write each group that was read, under the write lock (taken by the first write).
    for k in 1 .. pg_catalog.jsonb_array_length(groups) loop
        grp := array(select x::oid::regclass from pg_catalog.jsonb_array_elements_text(groups -> (k - 1)) x);
        if read_ok[k] then
            st := array(select allst[j] from pg_catalog.generate_subscripts(allst, 1) j where stgrp[j] = k order by j);
            begin
                counts := stripe_fdw._sync_write_json(st, 'sync');
                perform stripe_fdw._sync_record(grp, counts, t0, null, p_scheduled);
                perform stripe_fdw._sync_unstage(st);
                continue;
            exception when others then
                get stacked diagnostics e_st = returned_sqlstate, e_msg = message_text,
                                        e_det = pg_exception_detail, e_hnt = pg_exception_hint;
                errs := errs || pg_catalog.jsonb_build_object(k::text, pg_catalog.jsonb_build_array(e_st, e_msg, e_det, e_hnt));
            end;
        end if;
        perform stripe_fdw._write_lock();
        perform stripe_fdw._sync_record(grp, null, t0, errs -> k::text ->> 1);
        failed := failed || grp;
        if err_state is null then
            err_state := errs -> k::text ->> 0;
            err_msg := errs -> k::text ->> 1;
            err_detail := errs -> k::text ->> 2;
            err_hint := errs -> k::text ->> 3;
        end if;
    end loop;
    if p_full then
        perform stripe_fdw._write_lock();
        perform stripe_fdw._events_mark(marks, stripe_fdw._servers_of(failed));
    end if;
    perform stripe_fdw._write_lock();
    perform stripe_fdw._record_skips();
    perform stripe_fdw._stamps_prune();
    all_errors := errs;
end
$$;

-- The targets sync() reads: those of foreign tables, its own or Supabase Wrappers' (a target the
-- stripe-sync Edge Function feeds from a table is synced by its worker, sql/json_worker.sql;
-- named alone, an error says so).
create function stripe_fdw._sync_target_list(p_target regclass) returns regclass[]
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(t.target), '{}') from stripe_fdw._usable_targets(p_target) t
     where p_target is not null or not stripe_fdw._is_json_source(t.source) or stripe_fdw._readable(t.source)
$$;

-- Sync one target or all (null), record the outcome, COMMIT when the context allows it, and hand
-- the error (if any) back instead of raising it, so that refresh_all() can go on with the caches.
-- p_scheduled: run by the schedule's reconciliation (see _sync_record).
create procedure stripe_fdw._sync_run(
    p_target   regclass,
    inout err_state  text default null,
    inout err_msg    text default null,
    inout err_detail text default null,
    inout err_hint   text default null,
    p_scheduled bool default false)
language plpgsql
as $$
declare
    saved text := stripe_fdw._pin();
    probe      text;
    targets    regclass[];
    r          record;
begin
    -- Can this CALL commit? (see _can_commit)
    begin
        commit;
    exception when invalid_transaction_termination then
        get stacked diagnostics probe = message_text;
    end;
    if stripe_fdw._can_commit(probe) then
        -- This CALL's own transaction: deferred foreign keys are checked as the engine writes, so
        -- a violation is its group's (recorded) error, not the COMMIT's that would undo them all.
        set constraints all immediate;
    end if;
    targets := stripe_fdw._sync_target_list(p_target);
    if pg_catalog.cardinality(targets) operator(pg_catalog.>) 0 then
        r := stripe_fdw._sync_groups_run(targets, p_target is null, p_scheduled);
        err_state := r.err_state; err_msg := r.err_msg; err_detail := r.err_detail; err_hint := r.err_hint;
    end if;
    perform stripe_fdw._record_skips();
    if stripe_fdw._can_commit(probe) then
        commit;
    end if;
    perform pg_catalog.set_config('search_path', saved, true);
end
$$;

-- Bring every registered target (or one) to what Stripe holds now. A PROCEDURE: targets related by
-- foreign keys apply together, each such group on its own (one group's failure stops no other);
-- failures are recorded and COMMITted before the first is re-raised, so sync_status shows them
-- while the error still reaches the caller (and pg_cron marks the run failed). Inside an explicit
-- transaction block COMMIT is impossible: the error is raised and rolls everything back.
create procedure stripe_fdw.sync(target regclass default null)
language plpgsql
as $$
declare
    st  text;
    msg text;
    det text;
    hnt text;
    saved text := stripe_fdw._enter();
begin
    call stripe_fdw._sync_run(target, st, msg, det, hnt);
    perform stripe_fdw._finish(saved, st, msg, det, hnt);
end
$$;

comment on procedure stripe_fdw.sync(regclass) is
    'Bring every sync target (or one) to what Stripe holds now, writing only rows that differ and never a state older than the one a target holds (CALL, not SELECT); targets related by foreign keys apply together, a failure is recorded in sync_status and re-raised';

-- Every sync, then every cache (what refresh_all() runs): a failed sync does not stop the caches.
-- Only a run where everything succeeded counts as the schedule's reconciliation (p_scheduled: the
-- schedule runs it). Hands back the first error.
create procedure stripe_fdw._refresh_all_run(
    inout err_state  text default null,
    inout err_msg    text default null,
    inout err_detail text default null,
    inout err_hint   text default null,
    p_scheduled bool default false)
language plpgsql
as $$
declare
    saved text := stripe_fdw._pin();
    t0    timestamptz := pg_catalog.clock_timestamp();
    marks jsonb;
    c_st  text;
    c_msg text;
    c_det text;
    c_hnt text;
begin
    call stripe_fdw._sync_run(null, err_state, err_msg, err_detail, err_hint, p_scheduled);
    perform stripe_fdw._pin();
    -- The servers that feed only caches: catch_up() starts from Stripe's newest event before
    -- the caches' reads, once they succeeded.
    marks := stripe_fdw._events_newest(stripe_fdw._cache_only_servers());
    call stripe_fdw._refresh_run(null, c_st, c_msg, c_det, c_hnt);
    perform stripe_fdw._pin();
    perform stripe_fdw._write_lock();
    if c_st is null then
        perform stripe_fdw._events_mark(marks, null);
    elsif err_state is null then
        err_state := c_st; err_msg := c_msg; err_detail := c_det; err_hint := c_hnt;
    end if;
    if err_state is null then
        perform stripe_fdw._reconciled(t0);
    end if;
    perform pg_catalog.set_config('search_path', saved, true);
end
$$;

-- What the pg_cron job of schedule_refresh runs when a reconciliation is due: every sync, then
-- every cache; the first error is raised at the end (each is in its status view).
create procedure stripe_fdw.refresh_all()
language plpgsql
as $$
declare
    saved text := stripe_fdw._enter();
    st    text;
    msg   text;
    det   text;
    hnt   text;
begin
    call stripe_fdw._refresh_all_run(st, msg, det, hnt);
    perform stripe_fdw._finish(saved, st, msg, det, hnt);
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
select stripe_fdw._rel(g.target_schema, g.target_name) as target,
       stripe_fdw._rel(g.source_schema, g.source_name) as source,
       g.synced_at,
       case when g.synced_at is not null
            then greatest(pg_catalog.now() - g.synced_at, interval '0') end as age,
       g.inserted,
       g.updated,
       g.deleted,
       g.duration,
       g.last_error,
       g.last_error_at,
       case when stripe_fdw._rel(g.target_schema, g.target_name) is null
            then 'the table is missing: it is synced again once it is back' else g.skipped end as skipped,
       g.skipped_at,
       pg_catalog.format('%I.%I', g.target_schema, g.target_name) as registered,
       g.registrant,
       g.repaired,
       g.rows_skipped,
       g.skip_reasons,
       g.source_filter
  from stripe_fdw.sync_registry g
 where stripe_fdw._acts_for(g.registrant)
 order by g.target_schema, g.target_name;

comment on view stripe_fdw.sync_status is
    'One row per sync target of the roles the caller acts for: when it was last synced, how old that is, what the last run inserted, updated and deleted, its duration, last error, why it was skipped (rights, owner, missing table), and the rows it left as they are because they cannot be mapped (rows_skipped, skip_reasons)';
