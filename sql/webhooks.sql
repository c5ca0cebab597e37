-- stripe_fdw webhooks: handle_webhook(), the record of the events applied (the dedupe table), and
-- applying one object's change to every sync target and cache. See docs/webhooks.md.
-- Needs sql/sync_apply.sql (_sync_apply) and the Rust functions of src/webhook.rs
-- (_verify_webhook, _stripe_events).

-- Every event handle_webhook() or catch_up() accepted, so a second delivery (Stripe delivers at
-- least once) does nothing. Bounded in time and size: an event whose created is more than 30 days
-- old (Stripe's own retention of events) is forgotten, and only the newest 100,000 rows are kept.
create sequence stripe_fdw.webhook_events_seq;
create table stripe_fdw.webhook_events (
    id          text primary key,                 -- evt_...
    type        text not null,                    -- price.updated, customer.created, ...
    created     timestamptz not null,             -- when Stripe made the event
    received_at timestamptz not null default pg_catalog.now(),
    action      text not null,                    -- applied | ignored
    rows        bigint,                           -- rows written (handle_webhook; null for catch_up)
    via         text not null,                    -- webhook | catch_up
    seq         bigint not null default pg_catalog.nextval('stripe_fdw.webhook_events_seq')
);
create index webhook_events_created on stripe_fdw.webhook_events (created);
create index webhook_events_seq_idx on stripe_fdw.webhook_events (seq);
select pg_catalog.pg_extension_config_dump('stripe_fdw.webhook_events', '');
select pg_catalog.pg_extension_config_dump('stripe_fdw.webhook_events_seq', '');

comment on table stripe_fdw.webhook_events is
    'Stripe events applied by stripe_fdw.handle_webhook() and catch_up(), for dedupe: kept 30 days (by created), at most 100,000 rows';

-- Where catch_up() starts, per foreign server: the newest product/price event seen by the last
-- catch_up() or full sync (recorded before the sync reads). event_id is null when Stripe had none.
create table stripe_fdw.event_cursor (
    server        text primary key,
    event_id      text,
    event_created bigint,
    recorded_at   timestamptz not null default pg_catalog.now(),
    recorded_by   text not null                   -- sync | catch_up
);
select pg_catalog.pg_extension_config_dump('stripe_fdw.event_cursor', '');

comment on table stripe_fdw.event_cursor is
    'Where stripe_fdw.catch_up() starts for each server: the newest product/price event already applied';

-- When the last full reconciliation (refresh_all) ran, for the schedule's reconcile_every.
create table stripe_fdw.schedule_state (
    one           bool primary key default true check (one),
    reconciled_at timestamptz
);
select pg_catalog.pg_extension_config_dump('stripe_fdw.schedule_state', '');

-- One event of _stripe_events(), as catch_up() keeps them.
create type stripe_fdw._event as (
    ord int, id text, type text, created bigint, object_id text, product text);

-- For the webhook handler and catch_up(): bring every sync target of p_source to what Stripe holds
-- for the ids p_ids, in the current transaction (upsert, or delete when Stripe no longer has the
-- id). Reads only those ids (where id = any($1)). Returns what it did per target; sync_status is
-- left to the caller.
create function stripe_fdw._sync_ids(p_source regclass, p_ids text[])
returns table (target regclass, inserted bigint, updated bigint, deleted bigint)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    targets regclass[];
begin
    if p_ids is null then
        raise exception 'stripe_fdw: _sync_ids needs the ids to sync (use sync() for all)' using errcode = '22004';
    end if;
    targets := array(select t.target from stripe_fdw._sync_targets() t where t.source = p_source);
    if pg_catalog.cardinality(targets) = 0 or pg_catalog.cardinality(p_ids) = 0 then
        return;
    end if;
    return query select a.target, a.inserted, a.updated, a.deleted
                   from stripe_fdw._sync_apply(targets, p_ids) a;
end
$$;

-- The registered sources (stripe_fdw foreign tables that feed a sync target) of a Stripe object
-- ('products', 'prices'), for the webhook handler.
create function stripe_fdw._sync_sources(p_object text) returns setof regclass
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select distinct t.source
      from stripe_fdw._sync_targets() t
      join pg_catalog.pg_foreign_table ft on ft.ftrelid = t.source
     where 'object=' || p_object = any(ft.ftoptions)
$$;

-- The stripe_fdw server named p_server, or the only one when null (an error when there is none,
-- or several).
create function stripe_fdw._webhook_server(p_server text) returns oid
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    srv   oid;
    n     int;
    names text;
begin
    select pg_catalog.count(*), pg_catalog.min(fs.oid::text)::oid,
           pg_catalog.string_agg(pg_catalog.quote_ident(fs.srvname), ', ' order by fs.srvname)
      into n, srv, names
      from pg_catalog.pg_foreign_server fs
      join pg_catalog.pg_foreign_data_wrapper w on w.oid = fs.srvfdw
     where w.fdwhandler = stripe_fdw._handler()
       and (p_server is null or fs.srvname = p_server);
    if n = 1 then
        return srv;
    elsif p_server is not null then
        raise exception 'stripe_fdw: there is no stripe_fdw server "%"', p_server
            using errcode = '42704', hint = 'Pass the name of the foreign server of stripe_fdw (\des lists them).';
    elsif n = 0 then
        raise exception 'stripe_fdw: there is no stripe_fdw server'
            using errcode = '42704', hint = 'create server stripe_server foreign data wrapper stripe_wrapper; (see the README)';
    end if;
    raise exception 'stripe_fdw: there are % stripe_fdw servers (%): say which one', n, names
        using errcode = '42725', hint = 'Pass the server name, e.g. stripe_fdw.handle_webhook(body, signature, ''stripe_server'').';
end
$$;

-- The servers that feed a sync target or a cache (what catch_up() and the schedule work on).
create function stripe_fdw._fed_servers() returns oid[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(distinct ft.ftserver), '{}')
      from (select t.source from stripe_fdw._sync_targets() t
            union
            select pg_catalog.to_regclass(pg_catalog.format('%I.%I', r.source_schema, r.source_name))
              from stripe_fdw.cache_registry r) s
      join pg_catalog.pg_foreign_table ft on ft.ftrelid = s.source
$$;

-- The servers of the sync targets' sources, and of the caches' sources that feed no sync target.
create function stripe_fdw._sync_servers() returns oid[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(distinct ft.ftserver), '{}')
      from stripe_fdw._sync_targets() t
      join pg_catalog.pg_foreign_table ft on ft.ftrelid = t.source
$$;

create function stripe_fdw._cache_only_servers() returns oid[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(s), '{}')
      from pg_catalog.unnest(stripe_fdw._fed_servers()) s
     where s <> all (stripe_fdw._sync_servers())
$$;

-- A full reconciliation (refresh_all) starts now: the schedule's next one is reconcile_every later.
create function stripe_fdw._reconciled() returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
    insert into stripe_fdw.schedule_state as s (one, reconciled_at) values (true, pg_catalog.now())
    on conflict (one) do update set reconciled_at = excluded.reconciled_at
$$;

-- Record Stripe's newest product/price event as where catch_up() starts for these servers (one
-- request each). A full sync calls it before it reads, so nothing between the two is missed.
create function stripe_fdw._events_mark(p_servers oid[]) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    srv oid;
    e   record;
    msg text;
begin
    foreach srv in array coalesce(p_servers, '{}') loop
        begin
            select x.id, x.created into e from stripe_fdw._stripe_events(srv, null, true) x;
        exception when others then
            -- E.g. a restricted key without read access to events: the sync goes on, and
            -- catch_up() falls back to a full sync until events can be read.
            get stacked diagnostics msg = message_text;
            delete from stripe_fdw.event_cursor c
             where c.server = (select fs.srvname from pg_catalog.pg_foreign_server fs where fs.oid = srv);
            raise warning 'stripe_fdw: could not read Stripe''s events, so catch_up() will do full syncs: %', msg
                using hint = 'Give the API key read access to events.';
            continue;
        end;
        insert into stripe_fdw.event_cursor as c (server, event_id, event_created, recorded_at, recorded_by)
        select fs.srvname, e.id, e.created, pg_catalog.now(), 'sync'
          from pg_catalog.pg_foreign_server fs where fs.oid = srv
        on conflict (server) do update
           set event_id = excluded.event_id, event_created = excluded.event_created,
               recorded_at = excluded.recorded_at, recorded_by = excluded.recorded_by;
    end loop;
end
$$;

-- Mark every cache of a Stripe object stale (mark_cache_stale comes with the cache SQL of issue
-- 10; without it the caches follow at the next full refresh).
create function stripe_fdw._mark_stale(p_object text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.to_regprocedure('stripe_fdw.mark_cache_stale(text)') is not null then
        execute 'select stripe_fdw.mark_cache_stale($1)' using p_object;
    end if;
end
$$;

-- Bring every sync target fed by server srv with object p_object ('products', 'prices') to what
-- Stripe holds now for p_ids (upsert, or delete when Stripe says it is gone), and mark the caches
-- of that object stale. A price whose product is not in the products target yet (its
-- product.created not delivered yet) brings that product first (p_products: the prices'
-- products). Returns the rows written.
create function stripe_fdw._apply_objects(srv oid, p_object text, p_ids text[], p_products text[])
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    src regclass;
    n   bigint := 0;
    k   bigint;
begin
    p_ids := pg_catalog.array_remove(p_ids, null);
    p_products := pg_catalog.array_remove(p_products, null);
    if coalesce(pg_catalog.cardinality(p_ids), 0) = 0 then
        return 0;
    end if;
    for src in
        select s from stripe_fdw._sync_sources(p_object) s
          join pg_catalog.pg_foreign_table ft on ft.ftrelid = s
         where ft.ftserver = srv
    loop
        begin
            select coalesce(pg_catalog.sum(a.inserted + a.updated + a.deleted), 0) into k
              from stripe_fdw._sync_ids(src, p_ids) a;
        exception when foreign_key_violation then
            if p_object <> 'prices' or coalesce(pg_catalog.cardinality(p_products), 0) = 0 then
                raise;
            end if;
            n := n + stripe_fdw._apply_objects(srv, 'products', p_products, null);
            select coalesce(pg_catalog.sum(a.inserted + a.updated + a.deleted), 0) into k
              from stripe_fdw._sync_ids(src, p_ids) a;
        end;
        n := n + k;
    end loop;
    perform stripe_fdw._mark_stale(p_object);
    return n;
end
$$;

-- Forget events past the bound: created more than 30 days ago, or older than the newest 100,000.
create function stripe_fdw._webhook_prune() returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    delete from stripe_fdw.webhook_events e where e.created < pg_catalog.now() - interval '30 days';
    delete from stripe_fdw.webhook_events e
     where e.seq <= (select pg_catalog.max(x.seq) from stripe_fdw.webhook_events x) - 100000;
end
$$;

-- The product a price event's object belongs to (a string, or an expanded product).
create function stripe_fdw._event_product(obj jsonb) returns text
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    select case pg_catalog.jsonb_typeof(obj -> 'product')
               when 'string' then obj ->> 'product'
               when 'object' then obj -> 'product' ->> 'id' end
$$;

create function stripe_fdw.handle_webhook(payload text, stripe_signature text, server text default null)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    srv   oid;
    ev    jsonb;
    eid   text;
    etype text;
    obj   text;
    n     bigint;
    act   text := 'ignored';
begin
    srv := stripe_fdw._webhook_server(handle_webhook.server);
    -- Refuses (28000) before anything is written.
    ev := stripe_fdw._verify_webhook(srv, payload, stripe_signature);
    eid := ev ->> 'id';
    etype := ev ->> 'type';
    insert into stripe_fdw.webhook_events as w (id, type, created, action, via)
    values (eid, etype,
            coalesce(pg_catalog.to_timestamp((ev ->> 'created')::double precision), pg_catalog.now()),
            'received', 'webhook')
    on conflict (id) do nothing;
    if not found then
        return pg_catalog.jsonb_build_object('event', eid, 'type', etype, 'action', 'duplicate', 'rows', 0);
    end if;
    obj := case when etype like 'product.%' then 'products' when etype like 'price.%' then 'prices' end;
    if obj is not null then
        -- Stripe delivers at least once and in any order: apply what Stripe holds now, not the
        -- event's copy (one retrieve).
        n := stripe_fdw._apply_objects(srv, obj, array[ev #>> '{data,object,id}'],
                                        array[stripe_fdw._event_product(ev #> '{data,object}')]);
        act := 'applied';
    end if;
    update stripe_fdw.webhook_events w set action = act, rows = coalesce(n, 0) where w.id = eid;
    perform stripe_fdw._webhook_prune();
    return pg_catalog.jsonb_build_object('event', eid, 'type', etype, 'action', act, 'rows', coalesce(n, 0));
end
$$;

comment on function stripe_fdw.handle_webhook(text, text, text) is
    'Verify a Stripe webhook (raw body + Stripe-Signature header; 28000 when refused) and apply it: product.*/price.* re-read from Stripe into every sync target, caches marked stale; others ignored; duplicates do nothing';
