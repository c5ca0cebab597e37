-- stripe_fdw catch-up: CALL stripe_fdw.catch_up() applies the events of _event_map Stripe has
-- since the last one applied (what no webhook delivered while the app was down), and
-- run_scheduled(), what the schedule_refresh job runs. See docs/webhooks.md.
-- Needs sql/webhooks.sql and sql/sync_run.sql (refresh_all).
--
-- The procedures cannot pin search_path with SET (PostgreSQL refuses COMMIT in a procedure with a
-- SET clause): each pins it with stripe_fdw._enter() (public) or _pin() (internal) before its body
-- runs (again after each COMMIT and CALL), and qualifies every name.

-- Catch one server up. Returns null when done, or why a full sync is needed instead (no starting
-- point, or a gap longer than Stripe's 30 days of events). One events request per 100 events
-- since the starting point, then one retrieve per changed object (products in one ids[] list).
create function stripe_fdw._catch_up_server(srv oid) returns text
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    sname  text;
    c      stripe_fdw.event_cursor;
    evs    stripe_fdw._event[];
    fresh  stripe_fdw._event[];
    newest stripe_fdw._event;
    cut    int;
    objs   text[];
    steps  stripe_fdw._sync_step[] := '{}';
    nst    int[] := '{}';   -- how many of steps each object has
    k0     int;
    first  int := 1;
    i      int;
begin
    select fs.srvname into sname from pg_catalog.pg_foreign_server fs where fs.oid = srv;
    select * into c from stripe_fdw.event_cursor x where x.server = sname;
    if not found then
        return format('there is no starting point for server %I yet (no full sync or catch_up has recorded Stripe''s newest event)', sname);
    end if;
    if c.event_id is null and c.recorded_at < pg_catalog.now() - interval '30 days' then
        return format('the starting point for server %I (%s) is older than the 30 days of events Stripe keeps', sname, c.recorded_at);
    end if;
    evs := array(select row(e.ord, e.id, e.event_type, e.created, e.object)::stripe_fdw._event
                   from stripe_fdw._stripe_events(srv, c.event_created, false, stripe_fdw._event_types()) e
                  order by e.ord);
    if c.event_id is not null then
        select x.ord into cut from pg_catalog.unnest(evs) x where x.id = c.event_id;
        if cut is null then
            return format('the last event applied for server %I (%s, of %s) is no longer among Stripe''s events, which are kept 30 days',
                          sname, c.event_id, pg_catalog.to_timestamp(c.event_created));
        end if;
    else
        cut := coalesce(pg_catalog.cardinality(evs), 0);
    end if;
    -- The events after the starting point that no webhook applied yet, oldest first.
    fresh := array(select x from pg_catalog.unnest(evs) x
                    where x.ord < cut
                      and not exists (select from stripe_fdw.webhook_events w where w.id = x.id)
                    order by x.ord desc);
    -- The objects they changed (sql/webhooks.sql, _event_map), parents first; each changed
    -- object once, as Stripe holds it now (read before the write lock).
    objs := array(select x.object from pg_catalog.unnest(fresh) f
                   cross join lateral stripe_fdw._event_ids(f.type, f.object) x
                  where stripe_fdw._object_fed(srv, x.object)
                  group by x.object order by min(x.ord), x.object);
    for i in 1 .. coalesce(pg_catalog.cardinality(objs), 0) loop
        k0 := coalesce(pg_catalog.cardinality(steps), 0);
        steps := steps || stripe_fdw._read_objects(srv, objs[i],
            array(select distinct x.id from pg_catalog.unnest(fresh) f
                   cross join lateral stripe_fdw._event_ids(f.type, f.object) x
                  where x.object = objs[i]));
        nst := nst || (coalesce(pg_catalog.cardinality(steps), 0) - k0);
    end loop;
    perform stripe_fdw._write_lock();
    insert into stripe_fdw.webhook_events (id, type, created, action, via, server)
    select f.id, f.type, pg_catalog.to_timestamp(f.created),
           case when exists (select from stripe_fdw._event_ids(f.type, f.object) x where x.object = any(objs))
                then 'applied' else 'ignored' end,
           'catch_up', sname
      from pg_catalog.unnest(fresh) f
    on conflict (id) do nothing;
    for i in 1 .. coalesce(pg_catalog.cardinality(objs), 0) loop
        perform stripe_fdw._write_objects(srv, objs[i], steps[first : first + nst[i] - 1]);
        first := first + nst[i];
    end loop;
    -- Caught up: a failure of an earlier catch_up, recorded on this server and its targets, is over.
    perform stripe_fdw._catch_up_record(srv, null);
    if coalesce(pg_catalog.cardinality(evs), 0) > 0 then
        newest := evs[1];
        update stripe_fdw.event_cursor x
           set event_id = newest.id, event_created = newest.created,
               recorded_at = pg_catalog.now(), recorded_by = 'catch_up'
         where x.server = sname and (x.event_created is null or x.event_created <= newest.created);
    end if;
    perform stripe_fdw._webhook_prune();
    return null;
end
$$;

-- Record how catching server srv up went, on its starting point and on every sync target it feeds
-- (sync_status): p_msg, the error's message when it failed; null when it succeeded, which clears
-- what an earlier failure of catch_up recorded there. Under the write lock.
create function stripe_fdw._catch_up_record(srv oid, p_msg text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform stripe_fdw._write_lock();
    update stripe_fdw.event_cursor c
       set last_error = p_msg,
           last_error_at = case when p_msg is not null then pg_catalog.clock_timestamp() end
     where c.server = (select fs.srvname from pg_catalog.pg_foreign_server fs where fs.oid = srv)
       and (p_msg is not null or c.last_error is not null);
    update stripe_fdw.sync_registry r
       set last_error = 'catch_up: ' || p_msg,
           last_error_at = case when p_msg is not null then pg_catalog.clock_timestamp() end
     where (p_msg is not null or r.last_error like 'catch_up: %')
       and (r.target_schema, r.target_name) in (
           select x.nsp, x.rel_name
             from stripe_fdw._sync_targets() g
             join pg_catalog.pg_foreign_table ft on ft.ftrelid = g.source
             cross join lateral stripe_fdw._sync_name(g.target) x
            where ft.ftserver = srv);
end
$$;

-- Catch up every server that feeds a sync target or a cache (or the one named), each on its own:
-- read, write under the lock, COMMIT (when the context allows it), so one server's failure stops
-- no other and every server's progress is kept. A server that cannot be caught up from events
-- gets a full sync() and cache refresh, with a NOTICE that says why (p_scheduled: the schedule
-- runs it, see _sync_record). Hands back the first error.
create procedure stripe_fdw._catch_up_run(
    p_server   text,
    inout err_state  text default null,
    inout err_msg    text default null,
    inout err_detail text default null,
    inout err_hint   text default null,
    p_scheduled bool default false)
language plpgsql
as $$
declare
    saved text := stripe_fdw._pin();
    probe     text;
    srv       oid;
    servers   oid[];
    reason    text;
    full_sync bool := false;
    e_st      text;
    e_msg     text;
    e_det     text;
    e_hnt     text;
begin
    begin
        commit;
    exception when invalid_transaction_termination then
        get stacked diagnostics probe = message_text;
    end;
    if p_server is null then
        servers := stripe_fdw._fed_servers();
    else
        servers := array[stripe_fdw._webhook_server(p_server)];
    end if;
    foreach srv in array servers loop
        if stripe_fdw._can_commit(probe) then
            set constraints all immediate;   -- this server's own transaction (see _sync_run)
        end if;
        begin
            reason := stripe_fdw._catch_up_server(srv);
        exception when others then
            get stacked diagnostics e_st = returned_sqlstate, e_msg = message_text,
                                    e_det = pg_exception_detail, e_hnt = pg_exception_hint;
            perform stripe_fdw._catch_up_record(srv, e_msg);
            if err_state is null then
                err_state := e_st; err_msg := e_msg; err_detail := e_det; err_hint := e_hnt;
            end if;
            reason := null;
        end;
        if reason is not null then
            raise notice 'stripe_fdw: catch_up does a full sync and cache refresh instead: %', reason;
            full_sync := true;
        end if;
        if stripe_fdw._can_commit(probe) then
            commit;
            perform stripe_fdw._pin();
        end if;
    end loop;
    if full_sync then
        call stripe_fdw._refresh_all_run(e_st, e_msg, e_det, e_hnt, p_scheduled);
        perform stripe_fdw._pin();
        if err_state is null then
            err_state := e_st; err_msg := e_msg; err_detail := e_det; err_hint := e_hnt;
        end if;
    end if;
    perform pg_catalog.set_config('search_path', saved, true);
end
$$;

create procedure stripe_fdw.catch_up(server text default null)
language plpgsql
as $$
declare
    saved text := stripe_fdw._enter();
    st    text;
    msg   text;
    det   text;
    hnt   text;
begin
    call stripe_fdw._catch_up_run(server, st, msg, det, hnt);
    perform stripe_fdw._finish(saved, st, msg, det, hnt);
end
$$;

comment on procedure stripe_fdw.catch_up(text) is
    'Apply the events Stripe has since the last one applied (products, prices, customers, subscriptions, checkouts) (one events request per 100 events plus one retrieve per changed object), each server on its own; a full sync and cache refresh when there is no starting point or the gap exceeds Stripe''s 30 days';

-- Refresh the caches marked stale (by handle_webhook or catch_up), oldest mark first. Hands back
-- the first error.
create procedure stripe_fdw._refresh_stale(
    inout err_state  text default null,
    inout err_msg    text default null,
    inout err_detail text default null,
    inout err_hint   text default null)
language plpgsql
as $$
declare
    saved text := stripe_fdw._pin();
    objs  text[];
    o     text;
    e_st  text;
    e_msg text;
    e_det text;
    e_hnt text;
begin
    objs := array(select r.object from stripe_fdw.cache_registry r
                    join stripe_fdw._cache_state() st on st.object = r.object
                   where st.stale_since is not null and stripe_fdw._acts_for(r.owner) order by st.stale_since);
    foreach o in array objs loop
        e_st := null;
        call stripe_fdw._refresh_run(o, e_st, e_msg, e_det, e_hnt);
        perform stripe_fdw._pin();
        if err_state is null then
            err_state := e_st; err_msg := e_msg; err_detail := e_det; err_hint := e_hnt;
        end if;
    end loop;
    perform pg_catalog.set_config('search_path', saved, true);
end
$$;

-- What the schedule_refresh job runs: a full reconciliation (refresh_all: every sync, every
-- cache) when the last successful one is reconcile_every old or more; otherwise catch_up() and a
-- refresh of the stale caches (a failed catch-up does not keep the stale caches from refreshing).
-- A run where nothing changed costs one request (the events page). The first error is raised at
-- the end, so pg_cron marks the run failed.
create procedure stripe_fdw.run_scheduled(reconcile_every interval default '1 day')
language plpgsql
as $$
declare
    saved text := stripe_fdw._enter();
    last  timestamptz;
    st    text;
    msg   text;
    det   text;
    hnt   text;
    c_st  text;
    c_msg text;
    c_det text;
    c_hnt text;
begin
    if reconcile_every is null or reconcile_every operator(pg_catalog.<=) interval '0' then
        raise exception 'stripe_fdw: reconcile_every must be a positive interval' using errcode = '22023';
    end if;
    select s.reconciled_at into last from stripe_fdw.schedule_state s;
    if last is null or last operator(pg_catalog.<=) (pg_catalog.now() operator(pg_catalog.-) reconcile_every) then
        call stripe_fdw._refresh_all_run(st, msg, det, hnt, true);
        perform stripe_fdw._pin();
    else
        call stripe_fdw._catch_up_run(null, st, msg, det, hnt, true);
        perform stripe_fdw._pin();
        call stripe_fdw._refresh_stale(c_st, c_msg, c_det, c_hnt);
        perform stripe_fdw._pin();
        if st is null then
            st := c_st; msg := c_msg; det := c_det; hnt := c_hnt;
        end if;
    end if;
    perform stripe_fdw._finish(saved, st, msg, det, hnt);
end
$$;

comment on procedure stripe_fdw.run_scheduled(interval) is
    'What the schedule_refresh job runs: catch_up() and the stale caches, and a full sync and cache refresh once per reconcile_every (counted only when it succeeded)';
