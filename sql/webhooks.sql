-- stripe_fdw webhooks: handle_webhook(), the record of the events applied (the dedupe table), and
-- applying one object's change to every sync target and cache. See docs/webhooks.md.
-- Needs sql/sync_write.sql (_sync_write), sql/sync_targets.sql and the Rust functions of src/webhook.rs
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
    server      text,                             -- the foreign server it came through
    seq         bigint not null default pg_catalog.nextval('stripe_fdw.webhook_events_seq')
);
create index webhook_events_created on stripe_fdw.webhook_events (created);
create index webhook_events_seq_idx on stripe_fdw.webhook_events (seq);
select pg_catalog.pg_extension_config_dump('stripe_fdw.webhook_events', '');
select pg_catalog.pg_extension_config_dump('stripe_fdw.webhook_events_seq', '');

comment on table stripe_fdw.webhook_events is
    'Stripe events applied by stripe_fdw.handle_webhook() and catch_up(), for dedupe: kept 30 days (by created), at most 100,000 rows';

-- Where catch_up() starts, per foreign server: the newest applied event (_event_map) seen by the last
-- catch_up() or full sync (recorded before the sync reads). event_id is null when Stripe had none.
create table stripe_fdw.event_cursor (
    server        text primary key,
    event_id      text,
    event_created bigint,
    recorded_at   timestamptz not null default pg_catalog.now(),
    recorded_by   text not null,                  -- sync | catch_up
    last_error    text,                           -- the last catch_up() of this server that failed
    last_error_at timestamptz
);
select pg_catalog.pg_extension_config_dump('stripe_fdw.event_cursor', '');

comment on table stripe_fdw.event_cursor is
    'Where stripe_fdw.catch_up() starts for each server: the newest event of the kinds it applies already applied';

-- When the last full reconciliation (refresh_all) ran, for the schedule's reconcile_every.
create table stripe_fdw.schedule_state (
    one             bool primary key default true check (one),
    reconciled_at   timestamptz,
    every           interval,      -- schedule_refresh's interval (null: not scheduled)
    reconcile_every interval       -- and its reconcile_every
);
select pg_catalog.pg_extension_config_dump('stripe_fdw.schedule_state', '');

-- One event of _stripe_events(), as catch_up() keeps them (object: its data.object).
create type stripe_fdw._event as (
    ord int, id text, type text, created bigint, object jsonb);

-- The events stripe_fdw applies, all in one place: for each event type, the object it changes
-- (the foreign tables' `object` option), the field of the event's data.object holding that
-- object's id, and the order objects are written in (parents first: a price references its
-- product, a subscription its price). handle_webhook() and catch_up() apply them;
-- create_webhook_endpoint() subscribes to those of the objects this database reads.
create function stripe_fdw._event_map()
returns table (event_type text, object text, id_field text, ord int)
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    values ('product.created', 'products', 'id', 1),
           ('product.updated', 'products', 'id', 1),
           ('product.deleted', 'products', 'id', 1),
           ('price.created', 'prices', 'id', 2),
           ('price.updated', 'prices', 'id', 2),
           ('price.deleted', 'prices', 'id', 2),
           ('customer.created', 'customers', 'id', 3),
           ('customer.updated', 'customers', 'id', 3),
           ('customer.deleted', 'customers', 'id', 3),
           ('customer.subscription.created', 'subscriptions', 'id', 4),
           ('customer.subscription.updated', 'subscriptions', 'id', 4),
           ('customer.subscription.deleted', 'subscriptions', 'id', 4),
           -- A completed checkout of mode subscription names the subscription it created.
           ('checkout.session.completed', 'subscriptions', 'subscription', 4),
           ('checkout.session.completed', 'checkout/sessions', 'id', 5)
$$;

-- Every event type of _event_map, for catch_up()'s list of events (Stripe's types[]).
create function stripe_fdw._event_types() returns text[]
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.array_agg(distinct m.event_type order by m.event_type) from stripe_fdw._event_map() m
$$;

-- Where p_object comes in _event_map's order (parents first); after every object of it when none.
create function stripe_fdw._object_ord(p_object text) returns int
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(min(m.ord), 99) from stripe_fdw._event_map() m where m.object = p_object
$$;

-- Does anything the caller registered read p_object from server srv: a sync target it acts for,
-- or a cache it owns? An event about an object nothing here reads is recorded as ignored.
create function stripe_fdw._object_fed(srv oid, p_object text) returns bool
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select exists (select from stripe_fdw._sync_targets() t
                     join pg_catalog.pg_foreign_table ft on ft.ftrelid = t.source
                    where ft.ftserver = srv and 'object=' || p_object = any(ft.ftoptions))
        or exists (select from stripe_fdw.cache_registry r
                     join pg_catalog.pg_foreign_table ft on ft.ftrelid = stripe_fdw._rel(r.source_schema, r.source_name)
                    where stripe_fdw._acts_for(r.owner) and r.source_object = p_object and ft.ftserver = srv)
$$;

-- A foreign server's name.
create function stripe_fdw._srvname(srv oid) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select fs.srvname::text from pg_catalog.pg_foreign_server fs where fs.oid = srv
$$;

-- A field of an object that is an id: the string, or the id of the expanded object.
create function stripe_fdw._id_in(obj jsonb, field text) returns text
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    select case pg_catalog.jsonb_typeof(obj -> field)
               when 'string' then obj ->> field
               when 'object' then obj -> field ->> 'id' end
$$;

-- What an event of type etype about obj (its data.object) changes: (object, id, ord), nothing
-- for an event stripe_fdw does not apply (or a checkout that made no subscription).
create function stripe_fdw._event_ids(etype text, obj jsonb)
returns table (object text, id text, ord int)
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    select m.object, stripe_fdw._id_in(obj, m.id_field), m.ord
      from stripe_fdw._event_map() m
     where m.event_type = etype and stripe_fdw._id_in(obj, m.id_field) is not null
     order by m.ord
$$;


-- Bring every sync target of p_source the caller can use to what Stripe holds for the ids p_ids,
-- in the current transaction: read them (where id = any($1)), then write under the write lock
-- (upsert, or delete when Stripe no longer has the id; never over a newer read). Returns what it
-- did per target; sync_status is left to the caller.
create function stripe_fdw._sync_ids(p_source regclass, p_ids text[])
returns table (target regclass, inserted bigint, updated bigint, deleted bigint)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    steps stripe_fdw._sync_step[];
begin
    if p_ids is null then
        raise exception 'stripe_fdw: _sync_ids needs the ids to sync (use sync() for all)' using errcode = '22004';
    end if;
    steps := array(select x from stripe_fdw._sync_stage(
                       array(select u.target from stripe_fdw._usable_targets() u where u.source = p_source),
                       p_ids) x);
    if pg_catalog.cardinality(steps) = 0 or pg_catalog.cardinality(p_ids) = 0 then
        return;
    end if;
    return query select w.target, w.inserted, w.updated, w.deleted from stripe_fdw._sync_write(steps, 'sync') w;
    perform stripe_fdw._sync_unstage(steps);
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

-- The stripe_fdw server named p_server, when the caller may use it (an error otherwise, the same
-- for a server that does not exist and one of another role).
create function stripe_fdw._webhook_server(p_server text) returns oid
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    srv oid;
begin
    select fs.oid into srv
      from pg_catalog.pg_foreign_server fs
      join pg_catalog.pg_foreign_data_wrapper w on w.oid = fs.srvfdw
     where w.fdwhandler = stripe_fdw._handler() and fs.srvname = p_server
       and pg_catalog.has_server_privilege(fs.oid, 'usage');
    if srv is null then
        raise exception 'stripe_fdw: there is no stripe_fdw server "%" that this role may use', p_server
            using errcode = '42704',
                  hint = 'Pass the name of a foreign server of stripe_fdw that you have USAGE on (\des lists them), or none.';
    end if;
    return srv;
end
$$;

-- The server a delivery is for, and its verified event. Named (p_server): that server, its
-- signature checked. Not named: among the stripe_fdw servers the caller may use, the one whose
-- webhook secret verifies the signature. Other roles' servers never count, and no error sent back
-- to the route names a server: several secrets that verify mean one endpoint is shared by several
-- servers (an error that says so); none verifying is a refusal (28000).
create function stripe_fdw._webhook_verify(p_server text, payload text, stripe_signature text,
                                           out srv oid, out ev jsonb)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    c      oid;
    cands  oid[];
    found  int := 0;
    o_st   text;
    o_msg  text;
    o_hnt  text;
    r_st   text;
    r_msg  text;
    r_hnt  text;
    st     text;
    msg    text;
    hnt    text;
begin
    if p_server is not null then
        srv := stripe_fdw._webhook_server(p_server);
        ev := stripe_fdw._verify_webhook(srv, payload, stripe_signature);
        return;
    end if;
    cands := array(select fs.oid
                     from pg_catalog.pg_foreign_server fs
                     join pg_catalog.pg_foreign_data_wrapper w on w.oid = fs.srvfdw
                    where w.fdwhandler = stripe_fdw._handler()
                      and pg_catalog.has_server_privilege(fs.oid, 'usage')
                    order by fs.oid);
    if pg_catalog.cardinality(cands) = 0 then
        raise exception 'stripe_fdw: there is no stripe_fdw server this role may use'
            using errcode = '42704',
                  hint = 'create server stripe_server foreign data wrapper stripe_wrapper; and grant usage on it (see the README)';
    end if;
    foreach c in array cands loop
        begin
            ev := stripe_fdw._verify_webhook(c, payload, stripe_signature);
            found := found + 1;
            srv := c;
        exception when others then
            get stacked diagnostics st = returned_sqlstate, msg = message_text, hnt = pg_exception_hint;
            -- A refusal says what is wrong with the delivery (missing, malformed, wrong, expired);
            -- keep the most telling: a signature that matched but is too old beats no match.
            if st = '28000' and (r_st is null or msg like '%old%') then
                r_st := st; r_msg := msg; r_hnt := hnt;
            elsif st = '22023' then
                r_st := st; r_msg := msg; r_hnt := hnt;   -- signed, but not an event
            elsif o_st is null then
                -- No secret, or one that could not be read: its error, unless it names a server.
                o_st := st; o_msg := msg; o_hnt := hnt;
                if pg_catalog.strpos(msg, (select fs.srvname from pg_catalog.pg_foreign_server fs where fs.oid = c)) > 0 then
                    o_msg := null;
                end if;
            end if;

        end;
    end loop;
    if found = 1 then
        return;
    elsif found > 1 then
        raise exception 'stripe_fdw: the webhook secrets of % stripe_fdw servers verify this delivery: one endpoint is shared by several servers', found
            using errcode = '42725',
                  hint = 'Give each server the signing secret of its own endpoint (one endpoint per environment), or pass the server''s name to handle_webhook.';
    elsif r_st is not null then
        perform stripe_fdw._reraise(r_st, r_msg, null, r_hnt);
    end if;
    -- Nothing refused it: no secret could be read (a setup to fix; Stripe retries meanwhile).
    if o_msg is not null then
        perform stripe_fdw._reraise(o_st, o_msg, null, o_hnt);
    end if;
    raise exception 'stripe_fdw: no webhook secret of a stripe_fdw server this role may use could be read to verify this delivery'
        using errcode = 'HV00J',
              hint = 'Give the server (or your user mapping) the endpoint''s signing secret: options (add webhook_secret_name ''...'') with it in Supabase Vault, or (add webhook_secret ''whsec_...'').';
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
            select stripe_fdw._rel(r.source_schema, r.source_name)
              from stripe_fdw.cache_registry r where stripe_fdw._acts_for(r.owner)) s
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

-- The servers of the sources of sync targets p_targets.
create function stripe_fdw._servers_of(p_targets regclass[]) returns oid[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(distinct ft.ftserver), '{}')
      from stripe_fdw._sync_targets() t
      join pg_catalog.pg_foreign_table ft on ft.ftrelid = t.source
     where t.target = any(p_targets)
$$;

-- A full reconciliation (refresh_all) that started at p_t0 succeeded: the schedule's next one is
-- reconcile_every later. A failed one is not recorded, so the next scheduled run tries again.
create function stripe_fdw._reconciled(p_t0 timestamptz) returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
    insert into stripe_fdw.schedule_state as s (one, reconciled_at) values (true, p_t0)
    on conflict (one) do update set reconciled_at = excluded.reconciled_at
$$;

-- Stripe's newest event of the kinds catch_up applies for each server (one request each), read before a full
-- sync reads: {"<server oid>": {"id", "created"}}, the id null when Stripe has none, and the server
-- JSON null when its events cannot be read (a WARNING says so).
create function stripe_fdw._events_newest(p_servers oid[]) returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    srv oid;
    e   record;
    msg text;
    st  text;
    r   jsonb := '{}';
begin
    foreach srv in array coalesce(p_servers, '{}') loop
        begin
            select x.id, x.created into e from stripe_fdw._stripe_events(srv, null, true, stripe_fdw._event_types()) x;
            r := r || pg_catalog.jsonb_build_object(srv::text, pg_catalog.jsonb_build_object('id', e.id, 'created', e.created));
        exception when others then
            get stacked diagnostics msg = message_text, st = returned_sqlstate;
            if st in ('28000', '42501') then
                -- A key refused (401), or a restricted key without read access to events (403): the sync goes on, and
                -- catch_up() falls back to a full sync until events can be read.
                raise warning 'stripe_fdw: the API key may not read Stripe''s events, so catch_up() will do full syncs: %', msg
                    using hint = 'Give the API key read access to events.';
                r := r || pg_catalog.jsonb_build_object(srv::text, null);
            else
                -- Stripe unreachable or failing: the sync goes on; catch_up() keeps its starting point.
                raise warning 'stripe_fdw: could not read Stripe''s newest event (%); catch_up() keeps its starting point', msg;
            end if;
        end;
    end loop;
    return r;
end
$$;

-- Move catch_up()'s starting point of each server of p_marks (_events_newest, read before the
-- full read that succeeded) there, never back; a server whose events could not be read loses it.
-- Servers in p_failed (a group of theirs failed) keep theirs. Under the write lock.
create function stripe_fdw._events_mark(p_marks jsonb, p_failed oid[]) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    m record;
    sname text;
begin
    for m in select x.key::oid as srv, x.value as v from pg_catalog.jsonb_each(coalesce(p_marks, '{}')) x loop
        continue when m.srv = any(coalesce(p_failed, '{}'));
        select fs.srvname into sname from pg_catalog.pg_foreign_server fs where fs.oid = m.srv;
        if pg_catalog.jsonb_typeof(m.v) = 'null' then
            delete from stripe_fdw.event_cursor c where c.server = sname;
            continue;
        end if;
        insert into stripe_fdw.event_cursor as c (server, event_id, event_created, recorded_at, recorded_by)
        values (sname, m.v ->> 'id', (m.v ->> 'created')::bigint, pg_catalog.now(), 'sync')
        on conflict (server) do update
           set event_id = excluded.event_id, event_created = excluded.event_created,
               recorded_at = excluded.recorded_at, recorded_by = excluded.recorded_by,
               last_error = null, last_error_at = null
         where c.event_created is null or excluded.event_created is null
            or c.event_created <= excluded.event_created;
    end loop;
end
$$;

-- Read from Stripe, for every sync target the caller can use that is fed by server srv's table of
-- p_object ('products', 'prices'), what Stripe holds now for p_ids: the staged steps, parents
-- first (none when no target takes them). No lock is taken. Read as Stripe's JSON (a source's
-- attrs column, the whole object) between two ticks, and staged through the JSON door, as
-- apply_objects() stages what the stripe-sync Edge Function reads (sql/json_apply.sql): one way
-- in for every partial read. A source without attrs is read and staged column by column.
create function stripe_fdw._read_objects(srv oid, p_object text, p_ids text[]) returns stripe_fdw._sync_step[]
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    targets regclass[];
    src     regclass;
    limited bool;
    rfrom   bigint;
    rto     bigint;
    objs    jsonb;
begin
    p_ids := array(select distinct x from pg_catalog.unnest(p_ids) x where x is not null);
    if pg_catalog.cardinality(p_ids) = 0 then
        return '{}';
    end if;
    targets := array(select u.target from stripe_fdw._usable_targets() u
                       join pg_catalog.pg_foreign_table ft on ft.ftrelid = u.source
                      where ft.ftserver = srv and 'object=' || p_object = any(ft.ftoptions));
    if pg_catalog.cardinality(targets) = 0 then
        return '{}';
    end if;
    -- A source whose attrs column (jsonb) is the whole object; none of them with a column of a
    -- length or precision (varchar(3)), which a foreign table's rows hold and a JSON row of that
    -- type refuses: then every target is read column by column.
    select (pg_catalog.array_agg(t.source order by t.source::oid)
              filter (where a.attname = 'attrs' and a.atttypid = 'pg_catalog.jsonb'::pg_catalog.regtype::pg_catalog.oid))[1],
           coalesce(pg_catalog.bool_or(a.atttypmod <> -1), false)
      into src, limited
      from stripe_fdw._sync_targets() t
      join pg_catalog.pg_attribute a on a.attrelid = t.source and a.attnum > 0 and not a.attisdropped
     where t.target = any(targets);
    if src is null or limited then
        return array(select x from stripe_fdw._sync_stage(targets, p_ids) x);
    end if;
    rfrom := stripe_fdw._read_tick();
    execute format('select coalesce(pg_catalog.jsonb_agg(s.attrs), ''[]'') from %s s where s.id operator(pg_catalog.=) any($1)', src)
       into objs using p_ids;
    rto := stripe_fdw._read_tick();
    perform stripe_fdw._json_read_check(p_object, rfrom, rto, objs, null);
    return array(select x from stripe_fdw._sync_stage(targets, p_ids, objs, p_object, rfrom, rto) x);
end
$$;

-- The parents the rows of p_steps reference through a single-column foreign key to another sync
-- target fed by the same server (p_server: a foreign server's or an account's name): a
-- subscription's price, a price's product. That target's Stripe object (its source's) and the
-- ids, from the rows as read (not the event's copy).
create function stripe_fdw._staged_parents(p_server text, p_steps stripe_fdw._sync_step[])
returns table (object text, ids text[])
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    s   stripe_fdw._sync_step;
    fk  record;
    got text[];
begin
    foreach s in array coalesce(p_steps, '{}') loop
        for fk in
            select a.attname::text as col, i.object as obj
              from pg_catalog.pg_constraint c
              join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
              join stripe_fdw._sync_targets() t on t.target::oid = c.confrelid
              cross join lateral stripe_fdw._source_info(t.source) i
             where c.conrelid = s.target::oid and c.contype = 'f' and pg_catalog.cardinality(c.conkey) = 1
               and c.confrelid <> c.conrelid and i.server = p_server
               and exists (select from pg_catalog.jsonb_array_elements(s.spec) x where x ->> 'col' = a.attname::text)
        loop
            execute format('select pg_catalog.array_agg(distinct (s.%1$I)::pg_catalog.text) filter (where s.%1$I is not null) from pg_temp.%2$I s',
                           fk.col, s.map) into got;
            if fk.obj is not null and coalesce(pg_catalog.cardinality(got), 0) > 0 then
                object := fk.obj;
                ids := got;
                return next;
            end if;
        end loop;
    end loop;
end
$$;

-- Write staged steps for a delivery or a catch-up (under the write lock): the rows written (n),
-- and the rows left as they are because they cannot be mapped (unmapped, with the first reasons).
create function stripe_fdw._write_counted(p_steps stripe_fdw._sync_step[],
                                          out n bigint, out unmapped bigint, out reasons text[])
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    with w as (select * from stripe_fdw._sync_write(p_steps, 'webhook'))
    select coalesce((select pg_catalog.sum(w.inserted + w.updated + w.deleted) from w), 0)::bigint,
           coalesce((select pg_catalog.sum(w.unmapped) from w), 0)::bigint,
           array(select r from w, pg_catalog.unnest(w.unmapped_reasons) r)
$$;

-- Write what _read_objects read (under the write lock) and mark the caches of p_object stale.
-- Ids that must be read again (two reads overlap and disagree: read_again, sql/json_apply.sql) are
-- read now, under the lock, written first, and the write is tried again (it then skips them).
-- Rows that reference a parent their table does not hold yet (a subscription's new price, whose
-- price.created is not delivered yet) bring it: the parents the rows name (_staged_parents) are
-- read then and written first, their own parents too (p_depth: how deep this is), and the write
-- is tried again. Returns the rows written (n), and the rows left as they are because they
-- cannot be mapped (unmapped, with the first reasons).
create function stripe_fdw._write_objects(srv oid, p_object text, p_steps stripe_fdw._sync_step[], p_depth int default 0,
                                          out n bigint, out unmapped bigint, out reasons text[])
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    p   record;
    got record;
    det text;
begin
    n := 0;
    unmapped := 0;
    reasons := '{}';
    perform stripe_fdw._write_lock();
    if pg_catalog.cardinality(p_steps) > 0 then
        begin
            select w.n, w.unmapped, w.reasons into n, unmapped, reasons from stripe_fdw._write_counted(p_steps) w;
        exception
        when serialization_failure then
            get stacked diagnostics det = pg_exception_detail;
            if not stripe_fdw._is_read_again(det) then
                raise;  -- PostgreSQL's own: the caller retries its transaction
            end if;
            if p_depth >= 4 then
                raise exception 'stripe_fdw: % kept changing while this delivery was applied; nothing was applied', p_object
                    using errcode = '40001',
                          hint = 'Answer an error to Stripe, which delivers the event again (handle_webhook), or call catch_up() again.';
            end if;
            perform stripe_fdw._count('conflicts', pg_catalog.jsonb_array_length(det::jsonb -> 'ids'));
            perform stripe_fdw._count('rereads', pg_catalog.jsonb_array_length(det::jsonb -> 'ids'));
            got := stripe_fdw._write_objects(srv, det::jsonb ->> 'object',
                       stripe_fdw._read_objects(srv, det::jsonb ->> 'object',
                                                array(select pg_catalog.jsonb_array_elements_text(det::jsonb -> 'ids'))),
                       p_depth + 1);
            n := n + got.n;
            unmapped := unmapped + got.unmapped;
            reasons := reasons || got.reasons;
            got := stripe_fdw._write_objects(srv, p_object, p_steps, p_depth + 1);
            n := n + got.n;
            unmapped := unmapped + got.unmapped;
            reasons := reasons || got.reasons;
            return;
        when foreign_key_violation then
            if p_depth >= 4 or not exists (select from stripe_fdw._staged_parents(stripe_fdw._srvname(srv), p_steps)) then
                raise;
            end if;
            for p in select * from stripe_fdw._staged_parents(stripe_fdw._srvname(srv), p_steps) loop
                got := stripe_fdw._write_objects(srv, p.object, stripe_fdw._read_objects(srv, p.object, p.ids), p_depth + 1);
                n := n + got.n;
                unmapped := unmapped + got.unmapped;
                reasons := reasons || got.reasons;
            end loop;
            got := stripe_fdw._write_counted(p_steps);
            n := n + got.n;
            unmapped := unmapped + got.unmapped;
            reasons := reasons || got.reasons;
        end;
        perform stripe_fdw._sync_unstage(p_steps);
    end if;
    perform stripe_fdw.mark_cache_stale(p_object);
    perform stripe_fdw._record_skips();
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

-- Refuse (42501) a role that acts for none of the registrants who (when there are some) of the
-- sync targets of what: what it applied would be recorded, and applied by nobody.
create function stripe_fdw._acts_for_any(who regrole[], what text, hint text) returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.cardinality(who) > 0
       and not exists (select from pg_catalog.unnest(who) r where stripe_fdw._acts_for(r)) then
        raise exception 'stripe_fdw: role % applies none of the sync targets of % (they are registered by %)',
                        current_user, what, pg_catalog.array_to_string(who, ', ')
            using errcode = '42501', hint = hint;
    end if;
end
$$;

-- The roles that registered sync targets taking p_object from server srv (row-level security
-- hides other roles' registrations from the caller, not from this count).
create function stripe_fdw._registrants(srv oid, p_object text) returns regrole[]
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(distinct g.registrant), '{}')
      from stripe_fdw.sync_registry g
      join pg_catalog.pg_foreign_table ft on ft.ftrelid = stripe_fdw._rel(g.source_schema, g.source_name)
     where ft.ftserver = srv and 'object=' || p_object = any(ft.ftoptions)
       -- Only registrations that can apply: their table is there, owned as when registered, and
       -- their registrant may read the source (a stale or forged row makes no delivery fail).
       and stripe_fdw._owner_of(stripe_fdw._rel(g.target_schema, g.target_name)) = g.target_owner
       and pg_catalog.has_table_privilege(g.registrant::oid, ft.ftrelid, 'select')
$$;

-- Only for roles given grant_admin (it lists other roles' registrants).
revoke execute on function stripe_fdw._registrants(oid, text) from public;

-- A delivery applied by a role that acts for none of the registrations that take p_object from
-- server srv, while other roles registered some, would be recorded and never applied by anyone:
-- an error instead (the route answers 500 and Stripe retries once it is called as the right role).
create function stripe_fdw._webhook_acts(srv oid, p_object text) returns void
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select stripe_fdw._acts_for_any(stripe_fdw._registrants(srv, p_object), p_object,
        'Call handle_webhook as the role that registered them: connect as it, or through a security definer function it owns (docs/webhooks.md).')
$$;

-- The work of handle_webhook (below), with search_path pinned. Reads Stripe first, then takes the
-- write lock for the write and the record: a delivery never waits for another writer's reads.
create function stripe_fdw._handle_webhook(payload text, stripe_signature text, server text)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    srv   oid;
    ev    jsonb;
    eid   text;
    etype text;
    objs  text[];          -- what the event changes (_event_ids), parents first
    ids   text[];
    steps stripe_fdw._sync_step[] := '{}';
    nst   int[] := '{}';   -- how many of steps each object has
    i     int;
    k0    int;
    first int := 1;
    wr    record;
    n     bigint := 0;
    unm   bigint := 0;
    why   text[] := '{}';
    act   text := 'ignored';
    dup   jsonb;
    res   jsonb;
begin
    -- A role that registered nothing applies nothing: say so before anything else (calling as
    -- the app's API role instead of the role that registered the tables is the usual mistake).
    if not exists (select from stripe_fdw.sync_registry g where stripe_fdw._acts_for(g.registrant))
       and not exists (select from stripe_fdw.cache_registry c where stripe_fdw._acts_for(c.owner)) then
        raise exception 'stripe_fdw: role % has no sync targets nor caches: a delivery would apply nothing', current_user
            using errcode = '42501',
                  hint = 'Call handle_webhook as the role that registered them with create_sync: connect as it, '
                         || 'or through a security definer function it owns (docs/webhooks.md).';
    end if;
    -- Refuses (28000) before anything is written.
    select v.srv, v.ev into srv, ev from stripe_fdw._webhook_verify(server, payload, stripe_signature) v;
    eid := ev ->> 'id';
    etype := ev ->> 'type';
    dup := pg_catalog.jsonb_build_object('event', eid, 'type', etype, 'action', 'duplicate', 'rows', 0);
    if exists (select from stripe_fdw.webhook_events w where w.id = eid) then
        return dup;  -- asks Stripe nothing
    end if;
    select pg_catalog.array_agg(x.object order by x.ord), pg_catalog.array_agg(x.id order by x.ord)
      into objs, ids
      from stripe_fdw._event_ids(etype, ev #> '{data,object}') x
     where stripe_fdw._object_fed(srv, x.object) or stripe_fdw._registrants(srv, x.object) <> '{}';
    -- Stripe delivers at least once and in any order: apply what Stripe holds now, not the
    -- event's copy (one retrieve per object).
    for i in 1 .. coalesce(pg_catalog.cardinality(objs), 0) loop
        perform stripe_fdw._webhook_acts(srv, objs[i]);
        k0 := coalesce(pg_catalog.cardinality(steps), 0);
        steps := steps || stripe_fdw._read_objects(srv, objs[i], array[ids[i]]);
        nst := nst || (coalesce(pg_catalog.cardinality(steps), 0) - k0);
    end loop;
    perform stripe_fdw._write_lock();
    insert into stripe_fdw.webhook_events as w (id, type, created, action, via, server)
    values (eid, etype,
            coalesce(pg_catalog.to_timestamp((ev ->> 'created')::double precision), pg_catalog.now()),
            'received', 'webhook', (select fs.srvname from pg_catalog.pg_foreign_server fs where fs.oid = srv))
    on conflict (id) do nothing;
    if not found then
        return dup;  -- another delivery of it was applied meanwhile
    end if;
    for i in 1 .. coalesce(pg_catalog.cardinality(objs), 0) loop
        wr := stripe_fdw._write_objects(srv, objs[i], steps[first : first + nst[i] - 1]);
        first := first + nst[i];
        n := n + wr.n;
        unm := unm + wr.unmapped;
        why := why || wr.reasons;
        act := 'applied';
    end loop;
    update stripe_fdw.webhook_events e set action = act, rows = n where e.id = eid;
    perform stripe_fdw._webhook_prune();
    res := pg_catalog.jsonb_build_object('event', eid, 'type', etype, 'action', act, 'rows', n);
    if unm > 0 then
        -- Left as they are, never the delivery's failure (Stripe would retry it for days).
        res := res || pg_catalog.jsonb_build_object('skipped', unm, 'skip_reasons', pg_catalog.to_jsonb(why[1:5]));
    end if;
    return res;
end
$$;

-- Verify a delivery and apply it. No SET clause: it records the caller's search_path first, for
-- the app's triggers on the tables it writes (sql/sync_write.sql), and pins its own.
create function stripe_fdw.handle_webhook(payload text, stripe_signature text, server text default null)
returns jsonb
language plpgsql
as $$
declare
    saved text := stripe_fdw._enter();
    r     jsonb;
begin
    r := stripe_fdw._handle_webhook(payload, stripe_signature, server);
    perform pg_catalog.set_config('search_path', saved, true);
    return r;
end
$$;

comment on function stripe_fdw.handle_webhook(text, text, text) is
    'Verify a Stripe webhook (raw body + Stripe-Signature header; 28000 when refused) and apply it: product.*/price.* re-read from Stripe into every sync target, caches marked stale; others ignored; duplicates do nothing';
