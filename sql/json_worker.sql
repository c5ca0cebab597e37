-- stripe_fdw's worker fed from outside: what the stripe-sync Edge Function's worker does next
-- (worker_plan), a full sync read page by page across bounded runs (sync_start, sync_page,
-- sync_finish: the pages wait in json_snapshot until every object is read whole, then apply as
-- one full read), and catch-up from Stripe's events (catch_up_plan, catch_up_apply). The cursors
-- are the database's, so any run resumes where the last stopped. docs/hosted-supabase.md.
-- Needs sql/json_apply.sql, sql/json_webhooks.sql and sql/sync_run.sql (_sync_groups_run).

-- A full read in progress for an account: its start (read_from, taken before the newest event was
-- listed), the newest event then (catch-up starts there once it is applied), and each object's
-- progress: {"products": {"after": "prod_..."|null, "done": bool}, ...}.
create table stripe_fdw.json_sync_runs (
    server     text primary key references stripe_fdw.accounts (server) on update cascade on delete cascade,
    read_from  bigint not null,
    read_to    bigint,                -- the tick after the last page's answer (once every object is whole)
    mark       jsonb,                 -- the newest event {"id", "created"}, or null: Stripe had none
    progress   jsonb not null,
    scheduled  bool not null,         -- a reconciliation on schedule (its repairs are reported)
    started_at timestamptz not null default pg_catalog.now()
);

-- The objects read so far by a full read in progress.
create table stripe_fdw.json_snapshot (
    server text not null references stripe_fdw.json_sync_runs (server) on delete cascade,
    object text not null,
    id     text not null,
    data   jsonb not null,
    primary key (server, object, id)
);

-- The objects (foreign-table names) account p_server's targets read, parents first.
create function stripe_fdw._json_objects(p_server text) returns text[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(x.object order by x.ord, x.object), '{}')
      from (select distinct i.object, stripe_fdw._object_ord(i.object) as ord
              from stripe_fdw._sync_targets() t
             cross join lateral stripe_fdw._source_info(t.source) i
             where i.server = p_server and i.json) x
$$;

-- When account p_server's targets were last read whole (the oldest of them), and whether one was
-- never read whole (nor failed to be).
create function stripe_fdw._json_last_full(p_server text, out last_full timestamptz, out never bool)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    -- A target whose full read failed counts from that failure: retried at the next
    -- reconciliation (or request_sync), not at every run.
    select min(coalesce(g.synced_at, g.last_error_at)), coalesce(bool_or(g.synced_at is null and g.last_error_at is null), true)
      from stripe_fdw._sync_targets() t
      cross join lateral stripe_fdw._source_info(t.source) i
      cross join lateral stripe_fdw._sync_name(t.target) n
      join stripe_fdw.sync_registry g on (g.target_schema, g.target_name) = (n.nsp, n.rel_name)
     where i.server = p_server and i.json
$$;

-- The event types of _event_map about p_objects, sorted.
create function stripe_fdw._event_types_of(p_objects text[]) returns text[]
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(distinct m.event_type order by m.event_type), '{}')
      from stripe_fdw._event_map() m
     where m.object = any(p_objects)
$$;

-- The event types account p_server's registrations need (an endpoint's enabled_events, catch-up's
-- types[]): those of _event_map for the objects its sources stand for. Never '*'.
create function stripe_fdw.endpoint_events(server text) returns text[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select stripe_fdw._event_types_of(stripe_fdw._json_objects(endpoint_events.server))
$$;

comment on function stripe_fdw.endpoint_events(text) is
    'The Stripe event types the syncs fed by account server need (what its webhook endpoint subscribes to, and catch-up lists)';

-- The finished full read of the objects p_source stands for (for a full staging,
-- sql/sync_apply.sql): Stripe's JSON and the read's ticks; nulls when there is none whole.
create function stripe_fdw._snapshot(p_source regclass, p_ids text[], out objects jsonb, out object text,
                                     out read_from bigint, out read_to bigint)
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    i record;
    r stripe_fdw.json_sync_runs;
begin
    select x.server, x.object into i from stripe_fdw._source_info(p_source) x;
    select * into r from stripe_fdw.json_sync_runs x where x.server = i.server;
    if p_ids is not null or r.server is null or r.read_to is null then
        return;
    end if;
    object := i.object;
    read_from := r.read_from;
    read_to := r.read_to;
    select coalesce(pg_catalog.jsonb_agg(s.data), '[]') into objects
      from stripe_fdw.json_snapshot s where s.server = i.server and s.object = i.object;
end
$$;

-- Ask for a full sync of account server at the worker's next run (after an outage longer than
-- Stripe's 30 days of events, or to repair by hand).
create function stripe_fdw.request_sync(server text default 'stripe') returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
    update stripe_fdw.accounts a set sync_requested_at = pg_catalog.now()
     where a.server = (stripe_fdw._account(request_sync.server)).server
$$;

-- What the worker does next for account server (see docs/hosted-contract.md): idle, a full sync's
-- next step, or catch-up from the newest event applied.
create function stripe_fdw.worker_plan(server text default 'stripe') returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    a     stripe_fdw.accounts := stripe_fdw._account(worker_plan.server);
    objs  text[] := stripe_fdw._json_objects(worker_plan.server);
    r     stripe_fdw.json_sync_runs;
    c     stripe_fdw.event_cursor;
    o     text;
    f     record;
    types jsonb := pg_catalog.to_jsonb(stripe_fdw._event_types_of(objs));
    start jsonb := pg_catalog.jsonb_build_object('do', 'sync_start', 'types', types);
begin
    if pg_catalog.cardinality(objs) = 0 then
        return '{"do": "idle"}';
    end if;
    select * into r from stripe_fdw.json_sync_runs x where x.server = a.server;
    -- A read in progress for other objects than those read now (a sync registered or dropped
    -- meanwhile), or asked to start over (request_sync: its page cursor is gone from Stripe,
    -- say), starts over: it would never be whole.
    if found and (array(select k from pg_catalog.jsonb_object_keys(r.progress) k order by 1)
                  is distinct from array(select o2 from pg_catalog.unnest(objs) o2 order by 1)
                  or a.sync_requested_at > r.started_at) then
        return start;
    end if;
    if found then
        -- Children first (prices before products), as the extension reads: Stripe deletes no
        -- product that has prices, so every parent a child read names is still there when the
        -- parents are read after it.
        foreach o in array array(select x from pg_catalog.unnest(objs) with ordinality u(x, n) order by u.n desc) loop
            if not coalesce((r.progress -> o ->> 'done')::bool, false) then
                return pg_catalog.jsonb_build_object('do', 'sync_page', 'object', o, 'starting_after', r.progress -> o -> 'after',
                                                     'run', r.read_from);
            end if;
        end loop;
        return '{"do": "sync_finish"}';
    end if;
    select * into c from stripe_fdw.event_cursor x where x.server = a.server;
    f := stripe_fdw._json_last_full(a.server);
    if c.server is null or a.sync_requested_at is not null or f.never
       or f.last_full < pg_catalog.now() - a.reconcile_every
       or (c.event_id is null and c.recorded_at < pg_catalog.now() - interval '29 days')
       or pg_catalog.to_timestamp(c.event_created) < pg_catalog.now() - interval '29 days' then
        return start;
    end if;
    return pg_catalog.jsonb_build_object('do', 'catch_up', 'types', types,
                                         'created_gte', coalesce(c.event_created, extract(epoch from c.recorded_at)::bigint - 60),
                                         'after', c.event_id);
end
$$;

comment on function stripe_fdw.worker_plan(text) is
    'What the stripe-sync Edge Function''s worker does next for an account: idle, a full sync''s next step, or catch-up (docs/hosted-supabase.md)';

-- Start a full read of account server: read_from is the tick taken before the newest event was
-- listed (newest_event: that event, or null when Stripe has none). Starts over a read in progress.
create function stripe_fdw.sync_start(server text, read_from bigint, newest_event jsonb) returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    a    stripe_fdw.accounts := stripe_fdw._account(sync_start.server);
    objs text[] := stripe_fdw._json_objects(sync_start.server);
    f    record := stripe_fdw._json_last_full(sync_start.server);
begin
    perform stripe_fdw._json_read_check('products', sync_start.read_from, sync_start.read_from, '[]', null);
    delete from stripe_fdw.json_sync_runs x where x.server = a.server;
    insert into stripe_fdw.json_sync_runs (server, read_from, mark, progress, scheduled)
    values (a.server, sync_start.read_from,
            case when pg_catalog.jsonb_typeof(newest_event) = 'object'
                 then pg_catalog.jsonb_build_object('id', newest_event ->> 'id', 'created', (newest_event ->> 'created')::bigint) end,
            (select coalesce(pg_catalog.jsonb_object_agg(o, '{"after": null, "done": false}'::jsonb), '{}') from pg_catalog.unnest(objs) o),
            a.sync_requested_at is null and not f.never);
    return pg_catalog.jsonb_build_object('objects', pg_catalog.to_jsonb(objs), 'run', sync_start.read_from);
end
$$;

-- One page of a full read: Stripe's list body ({"data": [...], "has_more"}) of object.
-- run: the read_from of the full read the page belongs to (worker_plan says it): a page of a read
-- another run started over is refused, since it may be older than the read it would join.
create function stripe_fdw.sync_page(server text, object text, page jsonb, run bigint) returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    r    stripe_fdw.json_sync_runs;
    last text;
    n    int;
begin
    select * into r from stripe_fdw.json_sync_runs x where x.server = sync_page.server for update;
    if not found or not (r.progress ? sync_page.object) or r.read_from is distinct from sync_page.run then
        raise exception 'stripe_fdw: no full read of % for account "%" is in progress', sync_page.object, sync_page.server
            using errcode = '55000', hint = 'Ask stripe_fdw.worker_plan() what to read next.';
    end if;
    perform stripe_fdw._json_read_check(sync_page.object, r.read_from, r.read_from, page -> 'data', null);
    insert into stripe_fdw.json_snapshot as s (server, object, id, data)
    select r.server, sync_page.object, d ->> 'id', d from pg_catalog.jsonb_array_elements(page -> 'data') d
    on conflict (server, object, id) do update set data = excluded.data;
    get diagnostics n = row_count;
    last := page -> 'data' -> -1 ->> 'id';
    update stripe_fdw.json_sync_runs x
       set progress = pg_catalog.jsonb_set(x.progress, array[sync_page.object],
                          pg_catalog.jsonb_build_object('after', coalesce(last, x.progress -> sync_page.object ->> 'after'),
                                                        'done', not coalesce((page ->> 'has_more')::bool, false) or last is null))
     where x.server = r.server;
    -- The read ends with its last answer: the tick after it, once every object is whole.
    update stripe_fdw.json_sync_runs x set read_to = stripe_fdw._read_tick()
     where x.server = r.server
       and not exists (select from pg_catalog.jsonb_each(x.progress) e where not (e.value ->> 'done')::bool);
    return pg_catalog.jsonb_build_object('stored', n);
end
$$;

-- The work of sync_finish, search_path pinned.
create function stripe_fdw._sync_finish(p_server text) returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    r       stripe_fdw.json_sync_runs;
    targets regclass[];
    e       record;
    o       text;
    again   jsonb;
    det     text;
begin
    select * into r from stripe_fdw.json_sync_runs x where x.server = p_server;
    if not found then
        raise exception 'stripe_fdw: no full read for account "%" is in progress', p_server
            using errcode = '55000', hint = 'Ask stripe_fdw.worker_plan() what to do next.';
    end if;
    foreach o in array stripe_fdw._json_objects(p_server) loop
        if not coalesce((r.progress -> o ->> 'done')::bool, false) then
            raise exception 'stripe_fdw: the full read of account "%" has not read % whole yet', p_server, o
                using errcode = '55000', hint = 'Ask stripe_fdw.worker_plan() what to read next.';
        end if;
    end loop;
    targets := array(select u.target from stripe_fdw._usable_targets() u
                      cross join lateral stripe_fdw._source_info(u.source) i
                      where i.server = p_server and i.json);
    -- All or nothing: when some ids must be read again, no group is written (so the call made
    -- again writes them all, and sync_status counts what it wrote), and every group's ids are
    -- asked for at once. The lock is taken first, outside the block, so it stays for the reads.
    perform stripe_fdw._write_lock();
    begin
        e := stripe_fdw._sync_groups_run(targets, false, r.scheduled);
        select pg_catalog.jsonb_agg((x.value ->> 2)::jsonb) filter (where x.value ->> 0 = '40001' and stripe_fdw._is_read_again(x.value ->> 2))
          into again
          from pg_catalog.jsonb_each(coalesce(e.all_errors, '{}')) x;
        if again is not null then
            raise exception 'stripe_fdw: ids must be read again' using errcode = '40001', detail = again::text;
        end if;
    exception when serialization_failure then
        get stacked diagnostics det = pg_exception_detail;
        if not stripe_fdw._is_read_again(det) then
            raise;
        end if;
        again := det::jsonb;
        -- Counted here: the writes' own counts went with their rollback.
        perform stripe_fdw._count('conflicts', (select pg_catalog.sum(pg_catalog.jsonb_array_length(a -> 'ids'))::bigint
                                                  from pg_catalog.jsonb_array_elements(again) a));
        return pg_catalog.jsonb_build_object('read_again', again);
    end;
    -- A group that failed otherwise is recorded on its targets (sync_status, health) and the
    -- others are applied, as sync() does: the read is over either way (the failed targets are
    -- read whole again at the next reconciliation, or after request_sync).
    perform stripe_fdw._write_lock();
    insert into stripe_fdw.event_cursor as c (server, event_id, event_created, recorded_at, recorded_by)
    -- With no event then, catch-up lists events from the read's start (not its end: a change made
    -- while it read must be listed).
    values (p_server, r.mark ->> 'id', (r.mark ->> 'created')::bigint,
            case when r.mark is null then r.started_at else pg_catalog.now() end, 'sync')
    on conflict (server) do update
       set event_id = excluded.event_id, event_created = excluded.event_created,
           recorded_at = excluded.recorded_at, recorded_by = excluded.recorded_by,
           last_error = null, last_error_at = null
     where c.event_created is null or excluded.event_created is null or c.event_created <= excluded.event_created;
    -- Only this read's: a request or a read started meanwhile stays.
    update stripe_fdw.accounts a set sync_requested_at = null
     where a.server = p_server and a.sync_requested_at <= r.started_at;
    delete from stripe_fdw.json_sync_runs x where x.server = p_server and x.read_from = r.read_from;
    perform stripe_fdw._stamps_prune();
    return pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('error', e.err_msg)) || pg_catalog.jsonb_build_object('synced', pg_catalog.cardinality(targets),
        'rows', (select coalesce(pg_catalog.sum(s.inserted + s.updated + s.deleted), 0)::bigint
                   from stripe_fdw.sync_status s where s.target::regclass = any(targets)),
        'status', (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('target', s.target, 'inserted', s.inserted,
                                                                              'updated', s.updated, 'deleted', s.deleted))
                     from stripe_fdw.sync_status s where s.target::regclass = any(targets)));
end
$$;

-- Apply the full read of account server once every object is read whole: one full read per
-- target (rows Stripe no longer has are deleted), recorded in sync_status; catch-up then starts
-- from the newest event listed before it. {"read_again": [...]} as apply_objects.
create function stripe_fdw.sync_finish(server text) returns jsonb
language plpgsql
as $$
#variable_conflict use_column
declare
    saved text := stripe_fdw._enter();
    r     jsonb;
begin
    r := stripe_fdw._sync_finish(sync_finish.server);
    perform pg_catalog.set_config('search_path', saved, true);
    return r;
end
$$;

-- The events of events (Stripe's, as listed) after account p_server's cursor that no webhook
-- applied yet, oldest first.
create function stripe_fdw._json_fresh(p_server text, p_events jsonb) returns setof jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select e from pg_catalog.jsonb_array_elements(coalesce(p_events, '[]')) with ordinality x(e, n)
     where not exists (select from stripe_fdw.webhook_events w where w.id = e ->> 'id')
       and (e ->> 'created')::bigint >= coalesce((select c.event_created from stripe_fdw.event_cursor c where c.server = p_server), 0)
       and e ->> 'id' is distinct from (select c.event_id from stripe_fdw.event_cursor c where c.server = p_server)
     order by (e ->> 'created')::bigint, x.n desc
$$;

-- What to read for a page of events (Stripe's, newest first, after the cursor): [{"object", "ids"}],
-- each changed object once, parents first.
create function stripe_fdw.catch_up_plan(server text, events jsonb) returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    f jsonb;
begin
    for f in select x from stripe_fdw._json_fresh(catch_up_plan.server, catch_up_plan.events) x loop
        perform stripe_fdw._json_acts(catch_up_plan.server, f);
    end loop;
    return (
    select pg_catalog.jsonb_build_object('read', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('object', y.object, 'ids', y.ids)
                                                                                order by y.ord, y.object), '[]'))
      from (select x.object, min(x.ord) as ord, pg_catalog.to_jsonb(array_agg(distinct x.id)) as ids
              from stripe_fdw._json_fresh(catch_up_plan.server, catch_up_plan.events) f
             cross join lateral stripe_fdw._event_ids(f ->> 'type', f #> '{data,object}') x
             where stripe_fdw._json_fed(catch_up_plan.server, x.object)
             group by x.object) y);
end
$$;

-- The work of catch_up_apply, search_path pinned.
create function stripe_fdw._catch_up_apply(p_server text, p_events jsonb, p_reads jsonb) returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    newest jsonb;
    w      record;
    det    text;
    n      int;
begin
    perform stripe_fdw._account(p_server);
    select e into newest from pg_catalog.jsonb_array_elements(coalesce(p_events, '[]')) with ordinality x(e, k)
     order by (e ->> 'created')::bigint desc, k limit 1;
    perform stripe_fdw._json_acts(p_server, f) from stripe_fdw._json_fresh(p_server, p_events) f;
    perform stripe_fdw._write_lock();
    begin
        insert into stripe_fdw.webhook_events (id, type, created, action, via, server)
        select f ->> 'id', f ->> 'type', pg_catalog.to_timestamp((f ->> 'created')::bigint),
               case when exists (select from stripe_fdw._event_ids(f ->> 'type', f #> '{data,object}') x
                                  where stripe_fdw._json_fed(p_server, x.object)) then 'applied' else 'ignored' end,
               'catch_up', p_server
          from stripe_fdw._json_fresh(p_server, p_events) f
        on conflict (id) do nothing;
        get diagnostics n = row_count;
        w := stripe_fdw._json_write_reads(p_server, p_reads);
    exception when serialization_failure then
        get stacked diagnostics det = pg_exception_detail;
        if not stripe_fdw._is_read_again(det) then
            raise;
        end if;
        return pg_catalog.jsonb_build_object('read_again', det::jsonb);
    end;
    if newest is not null then
        update stripe_fdw.event_cursor c
           set event_id = newest ->> 'id', event_created = (newest ->> 'created')::bigint,
               recorded_at = pg_catalog.now(), recorded_by = 'catch_up', last_error = null, last_error_at = null
         where c.server = p_server and (c.event_created is null or c.event_created <= (newest ->> 'created')::bigint);
    end if;
    perform stripe_fdw._webhook_prune();
    return pg_catalog.jsonb_build_object('events', n, 'rows', w.n);
end
$$;

-- Apply a page of events after the cursor (Stripe's, newest first) with the objects read for them
-- (catch_up_plan said which): records the events, writes, and moves the cursor to the page's
-- newest event. {"read_again": [...]} as apply_objects.
create function stripe_fdw.catch_up_apply(server text, events jsonb, reads jsonb) returns jsonb
language plpgsql
as $$
#variable_conflict use_column
declare
    saved text := stripe_fdw._enter();
    r     jsonb;
begin
    r := stripe_fdw._catch_up_apply(catch_up_apply.server, catch_up_apply.events, catch_up_apply.reads);
    perform pg_catalog.set_config('search_path', saved, true);
    return r;
end
$$;

-- Record that account server's events could not be read after its cursor (the event is gone:
-- older than Stripe's 30 days): a full sync at the next run, and the reason on the cursor.
create function stripe_fdw.catch_up_gap(server text, reason text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    perform stripe_fdw.request_sync(catch_up_gap.server);
    update stripe_fdw.event_cursor c set last_error = catch_up_gap.reason, last_error_at = pg_catalog.now()
     where c.server = catch_up_gap.server;
end
$$;
