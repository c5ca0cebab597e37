-- stripe_fdw catch-up: CALL stripe_fdw.catch_up() applies the product and price events Stripe has
-- since the last one applied (what no webhook delivered while the app was down), and
-- run_scheduled(), what the schedule_refresh job runs. See docs/webhooks.md.
-- Needs sql/webhooks.sql and sql/sync_run.sql (refresh_all).
--
-- The procedures cannot pin search_path (PostgreSQL refuses COMMIT in a procedure with a SET
-- clause, and refresh_all commits), so their bodies only call schema-qualified functions.

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
begin
    select fs.srvname into sname from pg_catalog.pg_foreign_server fs where fs.oid = srv;
    select * into c from stripe_fdw.event_cursor x where x.server = sname;
    if not found then
        return format('there is no starting point for server %I yet (no full sync or catch_up has recorded Stripe''s newest event)', sname);
    end if;
    if c.event_id is null and c.recorded_at < pg_catalog.now() - interval '30 days' then
        return format('the starting point for server %I (%s) is older than the 30 days of events Stripe keeps', sname, c.recorded_at);
    end if;
    evs := array(select row(e.ord, e.id, e.event_type, e.created, e.object_id, e.product)::stripe_fdw._event
                   from stripe_fdw._stripe_events(srv, c.event_created, false) e
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
    insert into stripe_fdw.webhook_events (id, type, created, action, via)
    select x.id, x.type, pg_catalog.to_timestamp(x.created),
           case when x.type like 'product.%' or x.type like 'price.%' then 'applied' else 'ignored' end,
           'catch_up'
      from pg_catalog.unnest(fresh) x
    on conflict (id) do nothing;
    -- Each changed object once, as Stripe holds it now; products first (prices reference them).
    perform stripe_fdw._apply_objects(srv, 'products',
        array(select distinct x.object_id from pg_catalog.unnest(fresh) x where x.type like 'product.%'), null);
    perform stripe_fdw._apply_objects(srv, 'prices',
        array(select distinct x.object_id from pg_catalog.unnest(fresh) x where x.type like 'price.%'),
        array(select distinct x.product from pg_catalog.unnest(fresh) x where x.type like 'price.%'));
    if coalesce(pg_catalog.cardinality(evs), 0) > 0 then
        newest := evs[1];
        update stripe_fdw.event_cursor x
           set event_id = newest.id, event_created = newest.created,
               recorded_at = pg_catalog.now(), recorded_by = 'catch_up'
         where x.server = sname;
    end if;
    perform stripe_fdw._webhook_prune();
    return null;
end
$$;

-- Catch up every server that feeds a sync target or a cache (or the one named). A server that
-- cannot be caught up from events gets a full sync() and cache refresh (refresh_all), with a
-- NOTICE that says why. An error on one server does not stop the others; the first is raised at
-- the end.
create procedure stripe_fdw.catch_up(server text default null)
language plpgsql
as $$
declare
    saved     text := pg_catalog.current_setting('search_path');
    srv       oid;
    servers   oid[];
    reason    text;
    full_sync bool := false;
    st        text;
    msg       text;
    det       text;
    hnt       text;
    e_st      text;
    e_msg     text;
    e_det     text;
    e_hnt     text;
begin
    -- Pinned here (a procedure that COMMITs cannot use SET), again after each CALL.
    perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    if catch_up.server is null then
        servers := stripe_fdw._fed_servers();
    else
        servers := array[stripe_fdw._webhook_server(catch_up.server)];
    end if;
    foreach srv in array servers loop
        begin
            reason := stripe_fdw._catch_up_server(srv);
        exception when others then
            get stacked diagnostics e_st = returned_sqlstate, e_msg = message_text,
                                    e_det = pg_exception_detail, e_hnt = pg_exception_hint;
            if st is null then
                st := e_st; msg := e_msg; det := e_det; hnt := e_hnt;
            end if;
            reason := null;
        end;
        if reason is not null then
            raise notice 'stripe_fdw: catch_up does a full sync and cache refresh instead: %', reason;
            full_sync := true;
        end if;
    end loop;
    if full_sync then
        call stripe_fdw.refresh_all();
        perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    end if;
    if st is not null then
        perform stripe_fdw._reraise(st, msg, det, hnt);
    end if;
    perform pg_catalog.set_config('search_path', saved, true);
end
$$;

comment on procedure stripe_fdw.catch_up(text) is
    'Apply the product and price events Stripe has since the last one applied (one events request per 100 events plus one retrieve per changed object); a full sync and cache refresh when there is no starting point or the gap exceeds Stripe''s 30 days';

-- Refresh the caches marked stale (by handle_webhook or catch_up), oldest mark first. Needs the
-- cache SQL with stale_since (issue 10); without it there is nothing to do here.
create procedure stripe_fdw._refresh_stale()
language plpgsql
as $$
declare
    saved     text := pg_catalog.current_setting('search_path');
    objs text[];
    o    text;
begin
    -- Pinned here (a procedure that COMMITs cannot use SET), again after each CALL.
    perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    if not exists (select from pg_catalog.pg_attribute a
                    where a.attrelid = pg_catalog.to_regclass('stripe_fdw.cache_registry')
                      and a.attname = 'stale_since' and not a.attisdropped) then
        perform pg_catalog.set_config('search_path', saved, true);
        return;
    end if;
    execute 'select coalesce(pg_catalog.array_agg(r.object order by r.stale_since), ''{}'')
               from stripe_fdw.cache_registry r where r.stale_since is not null' into objs;
    foreach o in array objs loop
        call stripe_fdw.refresh_cache(o);
        perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    end loop;
    perform pg_catalog.set_config('search_path', saved, true);
end
$$;

-- What the schedule_refresh job runs: a full reconciliation (refresh_all: every sync, every
-- cache) when the last one is reconcile_every old or more; otherwise catch_up() and a refresh of
-- the stale caches. A run where nothing changed costs one request (the events page).
create procedure stripe_fdw.run_scheduled(reconcile_every interval default '1 day')
language plpgsql
as $$
declare
    saved     text := pg_catalog.current_setting('search_path');
    last timestamptz;
begin
    -- Pinned here (a procedure that COMMITs cannot use SET), again after each CALL.
    perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    if reconcile_every is null or reconcile_every <= interval '0' then
        raise exception 'stripe_fdw: reconcile_every must be a positive interval' using errcode = '22023';
    end if;
    select s.reconciled_at into last from stripe_fdw.schedule_state s;
    if last is null or last <= pg_catalog.now() - reconcile_every then
        call stripe_fdw.refresh_all();
        perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    else
        call stripe_fdw.catch_up();
        perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        call stripe_fdw._refresh_stale();
        perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    end if;
    perform pg_catalog.set_config('search_path', saved, true);
end
$$;

comment on procedure stripe_fdw.run_scheduled(interval) is
    'What the schedule_refresh job runs: catch_up() and the stale caches, and a full sync and cache refresh once per reconcile_every';
