-- stripe_fdw JSON entry points: the engine fed Stripe's JSON read elsewhere (the stripe-sync Edge
-- Function on hosted Supabase, docs/hosted-supabase.md), with the same stamps, lock and write as
-- the foreign-table path: read_tick() before the first request, then apply_objects() with what was
-- read. Ids the engine would read again itself (two reads overlap and disagree, a parent the table
-- lacks) come back as read_again, with the write lock held by the caller's transaction.
-- Needs sql/sources.sql, sql/sync_write.sql and sql/webhooks.sql (_staged_parents, _write_counted).

-- A tick of read_clock: take one just before the first request of a read (its read_from) and one
-- just after its last answer (its read_to), and hand both over with what was read.
create function stripe_fdw.read_tick() returns bigint
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    select stripe_fdw._read_tick()
$$;

comment on function stripe_fdw.read_tick() is
    'A tick of stripe_fdw.read_clock: take one just before the first request of a read of Stripe and one just after its last answer, and pass them as read_from and read_to to apply_objects (the Edge Function does)';

-- The targets the caller can use whose source stands for p_object of server p_server.
create function stripe_fdw._targets_of(p_server text, p_object text) returns regclass[]
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(u.target), '{}')
      from stripe_fdw._usable_targets() u
      cross join lateral stripe_fdw._source_info(u.source) i
     where i.server = p_server and i.object = p_object
$$;

-- Is p_objects what a read of p_object hands over: a JSON array of Stripe objects of that kind,
-- each with an id? An error saying what is wrong otherwise. The ids, and the read's start.
create function stripe_fdw._json_read_check(p_object text, p_read_from bigint, p_read_to bigint,
                                             p_objects jsonb, p_gone text[])
returns text[]
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    want text := (select k.object_type from stripe_fdw._object_kinds() k where k.object = p_object);
    bad  jsonb;
begin
    if want is null then
        raise exception 'stripe_fdw: "%" is not a Stripe object stripe_fdw knows', p_object
            using errcode = '22023',
                  detail = 'objects: ' || pg_catalog.array_to_string(stripe_fdw._object_names(), ', ');
    end if;
    if p_read_from is null or p_read_from < 1
       or p_read_from > (select c.last_value from stripe_fdw.read_clock c) then
        raise exception 'stripe_fdw: read_from % is not a tick of read_clock', coalesce(p_read_from::text, 'null')
            using errcode = '22023',
                  hint = 'Take it with stripe_fdw.read_tick() just before the first request of the read.';
    end if;
    if p_read_to is null or p_read_to < p_read_from
       or p_read_to > (select c.last_value from stripe_fdw.read_clock c) then
        raise exception 'stripe_fdw: read_to % is not a tick of read_clock taken after read_from %', coalesce(p_read_to::text, 'null'), p_read_from
            using errcode = '22023',
                  hint = 'Take it with stripe_fdw.read_tick() just after the last answer of the read.';
    end if;
    if pg_catalog.jsonb_typeof(coalesce(p_objects, '[]')) <> 'array' then
        raise exception 'stripe_fdw: objects must be a JSON array of Stripe objects, not %', pg_catalog.jsonb_typeof(p_objects)
            using errcode = '22023';
    end if;
    select o into bad from pg_catalog.jsonb_array_elements(coalesce(p_objects, '[]')) o
     where pg_catalog.jsonb_typeof(o) <> 'object' or pg_catalog.jsonb_typeof(o -> 'id') is distinct from 'string'
        or o ->> 'object' is distinct from want
     limit 1;
    if found then
        raise exception 'stripe_fdw: objects must be % objects (with "object": "%" and an id), not %', want, want,
                        pg_catalog.left(bad::text, 80)
            using errcode = '22023';
    end if;
    return array(select o ->> 'id' from pg_catalog.jsonb_array_elements(coalesce(p_objects, '[]')) o
                 union
                 select g from pg_catalog.unnest(coalesce(p_gone, '{}')) g where g is not null);
end
$$;

-- The work of apply_objects (below), search_path pinned: stage the read for every target of
-- (p_server, p_object), take the write lock, write. Nothing is written when ids must be read
-- again: {"read_again": [{"object", "ids"}]}, the lock kept. (A full read goes through
-- sync_finish, sql/json_worker.sql.)
create function stripe_fdw._json_write(p_server text, p_object text, p_read_from bigint, p_read_to bigint,
                                       p_objects jsonb, p_gone text[])
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    ids     text[] := stripe_fdw._json_read_check(p_object, p_read_from, p_read_to, p_objects, p_gone);
    targets regclass[] := stripe_fdw._targets_of(p_server, p_object);
    steps   stripe_fdw._sync_step[];
    w       record;
    det     text;
    need    jsonb;
begin
    if pg_catalog.cardinality(targets) = 0 then
        perform stripe_fdw._record_skips();  -- why a registration could not be used, if one was skipped
        return pg_catalog.jsonb_build_object('rows', 0, 'targets', 0);
    end if;
    steps := array(select x from stripe_fdw._sync_stage(targets, ids, coalesce(p_objects, '[]'), p_object,
                                                         p_read_from, p_read_to) x);
    -- Taken outside the block below, so a read_again keeps it: the ids are read again under it.
    perform stripe_fdw._write_lock();
    begin
        select x.n, x.unmapped, x.reasons into w from stripe_fdw._write_counted(steps) x;
    exception
        when serialization_failure then
            get stacked diagnostics det = pg_exception_detail;
            if not stripe_fdw._is_read_again(det) then
                raise;  -- PostgreSQL's own: the caller retries its transaction
            end if;
            perform stripe_fdw._sync_unstage(steps);
            -- Counted here: the write's own count went with its rollback.
            perform stripe_fdw._count('conflicts', pg_catalog.jsonb_array_length(det::jsonb -> 'ids'));
            return pg_catalog.jsonb_build_object('read_again', pg_catalog.jsonb_build_array(det::jsonb));
        when foreign_key_violation then
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('object', p.object, 'ids', pg_catalog.to_jsonb(p.ids)))
              into need from stripe_fdw._staged_parents(p_server, steps) p;
            if need is null then
                raise;
            end if;
            perform stripe_fdw._sync_unstage(steps);
            return pg_catalog.jsonb_build_object('read_again', need);
    end;
    perform stripe_fdw._sync_unstage(steps);
    perform stripe_fdw.mark_cache_stale(p_object);
    perform stripe_fdw._record_skips();
    return pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'rows', w.n, 'targets', pg_catalog.cardinality(targets),
        'skipped', case when w.unmapped > 0 then w.unmapped end,
        'skip_reasons', case when w.unmapped > 0 then pg_catalog.to_jsonb(w.reasons[1:5]) end));
end
$$;

-- Apply a partial read of Stripe made elsewhere: objects (Stripe's JSON of object, read between
-- ticks read_from and read_to: read_tick() just before the first request and just after the last
-- answer) and the ids found gone (404), to every sync target of (server, object) the caller
-- registered, never over a newer read. After a read_again, called again with the same arguments.
-- No SET clause: it records the caller's search_path for the app's triggers, as the other entry
-- points do.
create function stripe_fdw.apply_objects(server text, object text, read_from bigint, read_to bigint,
                                         objects jsonb, gone text[] default '{}')
returns jsonb
language plpgsql
as $$
#variable_conflict use_column
declare
    saved text := stripe_fdw._enter();
    r     jsonb;
begin
    perform stripe_fdw._account(apply_objects.server);
    r := stripe_fdw._json_write(apply_objects.server, apply_objects.object, apply_objects.read_from,
                                apply_objects.read_to, apply_objects.objects, apply_objects.gone);
    perform pg_catalog.set_config('search_path', saved, true);
    return r;
end
$$;

comment on function stripe_fdw.apply_objects(text, text, bigint, bigint, jsonb, text[]) is
    'Apply Stripe objects read elsewhere (read_from, read_to: read_tick() taken just before and just after the read) and the ids found gone to the sync targets of (server, object); answers rows written, or read_again: ids to read again now, in this transaction';
