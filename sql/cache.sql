-- stripe_fdw cache: materialized views of the live tables, their bookkeeping, refresh, drift and
-- scheduling. See docs/cache.md. Every statement that touches a foreign table or a cache is
-- dynamic SQL (EXECUTE format(...)): the names are only known at call time.

create schema if not exists stripe_fdw;

-- One row per cache. object is '<cache schema>.<table name>', e.g. 'stripe_cache.products'.
create table stripe_fdw.cache_registry (
    object         text primary key,
    source_schema  text not null,
    source_name    text not null,
    cache_relation regclass not null,
    refreshed_at   timestamptz,
    row_count      bigint,
    duration       interval,
    last_error     text,
    last_error_at  timestamptz,
    populated      bool not null default false
);
-- pg_dump keeps the rows (the table itself is recreated by CREATE EXTENSION).
select pg_catalog.pg_extension_config_dump('stripe_fdw.cache_registry', '');

comment on table stripe_fdw.cache_registry is
    'stripe_fdw caches: one row per materialized view made by stripe_fdw.create_cache()';

-- The handler function of this extension (found through the extension's membership, so it does
-- not matter which schema CREATE EXTENSION ran in).
create function stripe_fdw._handler() returns oid
language sql stable
as $$
    select p.oid
      from pg_catalog.pg_proc p
      join pg_catalog.pg_depend d
        on d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objid = p.oid and d.deptype = 'e'
      join pg_catalog.pg_extension e on e.oid = d.refobjid
     where e.extname = 'stripe_fdw' and p.proname = 'stripe_fdw_handler'
     limit 1
$$;

-- Resolve a user-given cache name to its registry key: the exact key ('stripe_cache.products'),
-- or a bare table name ('products') when exactly one cache has it.
create function stripe_fdw._resolve(p_object text) returns text
language plpgsql stable
as $$
declare
    k text;
    n int;
    known text;
begin
    select r.object into k from stripe_fdw.cache_registry r where r.object = p_object;
    if found then
        return k;
    end if;
    select count(*), min(r.object) into n, k
      from stripe_fdw.cache_registry r
      join pg_catalog.pg_class c on c.oid = r.cache_relation
     where c.relname = p_object;
    if n = 1 then
        return k;
    end if;
    select coalesce(string_agg(r.object, ', ' order by r.object), '(none)') into known
      from stripe_fdw.cache_registry r
     where exists (select 1 from pg_catalog.pg_class c where c.oid = r.cache_relation);
    if n > 1 then
        raise exception 'stripe_fdw: cache name "%" is ambiguous', p_object
            using errcode = '42725', detail = 'cached objects: ' || known,
                  hint = 'Qualify it with its cache schema, e.g. ''stripe_cache.' || p_object || '''.';
    end if;
    raise exception 'stripe_fdw: no cache named "%"', p_object
        using errcode = '42704', detail = 'cached objects: ' || known,
              hint = 'Create caches with stripe_fdw.create_cache(source_schema, cache_schema).';
end
$$;

create function stripe_fdw._has_column(rel regclass, col name) returns bool
language sql stable
as $$
    select exists (select 1 from pg_catalog.pg_attribute a
                    where a.attrelid = rel and a.attname = col and a.attnum > 0 and not a.attisdropped)
$$;

create function stripe_fdw.create_cache(
    source_schema text default 'stripe',
    cache_schema  text default 'stripe_cache'
) returns setof regclass
language plpgsql
as $$
declare
    h      oid := stripe_fdw._handler();
    src_ns oid := pg_catalog.to_regnamespace(pg_catalog.quote_ident(source_schema));
    r      record;
    rel    regclass;
    kind   "char";
    made   text[] := '{}';
begin
    if h is null then
        raise exception 'stripe_fdw: the stripe_fdw_handler function of the extension was not found';
    end if;
    if src_ns is null then
        raise exception 'stripe_fdw: schema "%" does not exist', source_schema
            using errcode = '3F000',
                  hint = 'Import the tables first: import foreign schema stripe from server <server> into ' || pg_catalog.quote_ident(source_schema) || ';';
    end if;
    execute format('create schema if not exists %I', cache_schema);
    for r in
        select c.relname::text as name
          from pg_catalog.pg_class c
          join pg_catalog.pg_foreign_table ft on ft.ftrelid = c.oid
          join pg_catalog.pg_foreign_server fs on fs.oid = ft.ftserver
          join pg_catalog.pg_foreign_data_wrapper w on w.oid = fs.srvfdw
         where c.relnamespace = src_ns and w.fdwhandler = h
         order by c.relname
    loop
        rel := pg_catalog.to_regclass(format('%I.%I', cache_schema, r.name));
        if rel is not null then
            select c.relkind into kind from pg_catalog.pg_class c where c.oid = rel;
            if kind <> 'm' then
                raise exception 'stripe_fdw: %.% exists and is not a materialized view', cache_schema, r.name
                    using errcode = '42P07';
            end if;
        else
            execute format('create materialized view %I.%I as select * from %I.%I with no data',
                           cache_schema, r.name, source_schema, r.name);
            rel := format('%I.%I', cache_schema, r.name)::regclass;
        end if;
        if stripe_fdw._has_column(rel, 'id') then
            -- Unique: REFRESH ... CONCURRENTLY needs it.
            execute format('create unique index if not exists %I on %s (id)', r.name || '_id_key', rel);
        else
            raise exception 'stripe_fdw: %.% has no id column; it cannot be cached', source_schema, r.name;
        end if;
        if stripe_fdw._has_column(rel, 'product') then
            execute format('create index if not exists %I on %s (product)', r.name || '_product_idx', rel);
        end if;
        if stripe_fdw._has_column(rel, 'active') then
            execute format('create index if not exists %I on %s (active)', r.name || '_active_idx', rel);
        end if;
        insert into stripe_fdw.cache_registry as g
               (object, source_schema, source_name, cache_relation, populated)
        values (cache_schema || '.' || r.name, source_schema, r.name, rel,
                (select c.relispopulated from pg_catalog.pg_class c where c.oid = rel))
        on conflict (object) do update
           set source_schema = excluded.source_schema,
               source_name = excluded.source_name,
               cache_relation = excluded.cache_relation,
               populated = excluded.populated;
        made := made || r.name;
        return next rel;
    end loop;
    if cardinality(made) = 0 then
        raise exception 'stripe_fdw: no stripe_fdw foreign tables in schema "%"', source_schema
            using errcode = '42P01',
                  hint = 'Import them first: import foreign schema stripe from server <server> into ' || pg_catalog.quote_ident(source_schema) || ';';
    end if;
    -- The storefront view (the Next.js subscription template's shape): active products, each with
    -- its active prices by unit_amount, sorted by metadata.index (non-numeric or missing: last).
    if pg_catalog.to_regclass(format('%I.products', cache_schema)) is not null
       and pg_catalog.to_regclass(format('%I.prices', cache_schema)) is not null then
        execute format($v$
            create or replace view %1$I.catalog as
            select p.id,
                   p.name,
                   p.description,
                   p.images,
                   p.metadata,
                   p.marketing_features,
                   p.default_price,
                   case when p.metadata->>'index' ~ '^\s*-?[0-9]{1,18}\s*$'
                        then (p.metadata->>'index')::bigint end as sort_index,
                   coalesce((
                       select jsonb_agg(jsonb_build_object(
                                  'id', x.id,
                                  'currency', x.currency,
                                  'unit_amount', x.unit_amount,
                                  'type', x.type,
                                  'interval', x.recurring_interval,
                                  'interval_count', x.recurring_interval_count,
                                  'trial_period_days', x.trial_period_days,
                                  'lookup_key', x.lookup_key,
                                  'nickname', x.nickname,
                                  'metadata', x.metadata)
                              order by x.unit_amount nulls last, x.id)
                         from %1$I.prices x
                        where x.product = p.id and x.active), '[]'::jsonb) as prices
              from %1$I.products p
             where p.active
             order by sort_index nulls last, p.name, p.id
        $v$, cache_schema);
    end if;
end
$$;

comment on function stripe_fdw.create_cache(text, text) is
    'Create (idempotently) a materialized view per stripe_fdw foreign table of source_schema in cache_schema, plus cache_schema.catalog; fill them with CALL stripe_fdw.refresh_cache()';

-- The error COMMIT raises in an atomic context (a function is always one).
create function stripe_fdw._atomic_commit_error() returns text
language plpgsql volatile
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

-- Refresh one cache (object) or all of them (null). A PROCEDURE: after a failure it records the
-- error in the registry and COMMITs before re-raising, so cache_status shows it while the error
-- still reaches the caller (and pg_cron marks the run failed). Inside an explicit transaction
-- block COMMIT is impossible: then the error is raised and the status is not recorded.
create procedure stripe_fdw.refresh_cache(object text default null)
language plpgsql
as $$
declare
    can_commit bool;
    objs       text[];
    o          text;
    rel        regclass;
    is_pop     bool;
    t0         timestamptz;
    n          bigint;
    e_state    text;
    e_msg      text;
    e_detail   text;
    e_hint     text;
    f_state    text;
    f_msg      text;
    f_detail   text;
    f_hint     text;
    failed     text[] := '{}';
begin
    -- Can this CALL commit? Not inside a transaction block (BEGIN; CALL ...), a multi-statement
    -- query string, a function or another atomic context. Probe it without side effects: COMMIT
    -- inside an exception block always fails, but with 'cannot commit while a subtransaction is
    -- active' when the context could commit, and with the same error as in a function (always
    -- atomic) when it could not. (Compared with that reference, so it works in any lc_messages.)
    begin
        commit;
    exception when invalid_transaction_termination then
        get stacked diagnostics e_msg = message_text;
    end;
    can_commit := e_msg is distinct from stripe_fdw._atomic_commit_error();
    e_msg := null;

    if object is null then
        -- Forget caches whose materialized view was dropped.
        delete from stripe_fdw.cache_registry r
         where not exists (select 1 from pg_catalog.pg_class c where c.oid = r.cache_relation);
        select array_agg(r.object order by r.object) into objs from stripe_fdw.cache_registry r;
    else
        objs := array[stripe_fdw._resolve(object)];
    end if;

    foreach o in array coalesce(objs, '{}') loop
        select r.cache_relation, c.relispopulated into rel, is_pop
          from stripe_fdw.cache_registry r
          join pg_catalog.pg_class c on c.oid = r.cache_relation
         where r.object = o;
        if not found then
            if object is not null then
                raise exception 'stripe_fdw: the materialized view of cache "%" no longer exists', o
                    using errcode = '42P01', hint = 'Recreate it with stripe_fdw.create_cache().';
            end if;
            continue;  -- dropped meanwhile
        end if;
        t0 := pg_catalog.clock_timestamp();
        e_state := null;
        begin
            if is_pop then
                execute format('refresh materialized view concurrently %s', rel);
            else
                execute format('refresh materialized view %s', rel);
            end if;
            execute format('select count(*) from %s', rel) into n;
            -- REFRESH leaves the statistics as they were (empty after the first one), and the
            -- catalog view's per-product lookups then plan as sequential scans: 5 s instead of
            -- 0.3 s for 10,000 products. Fresh statistics make them index scans.
            execute format('analyze %s', rel);
        exception when others then
            get stacked diagnostics e_state = returned_sqlstate, e_msg = message_text,
                                    e_detail = pg_exception_detail, e_hint = pg_exception_hint;
        end;
        if e_state is null then
            update stripe_fdw.cache_registry
               set refreshed_at = t0, row_count = n,
                   duration = pg_catalog.clock_timestamp() - t0,
                   last_error = null, last_error_at = null, populated = true
             where cache_registry.object = o;
        else
            update stripe_fdw.cache_registry
               set last_error = e_msg, last_error_at = pg_catalog.clock_timestamp()
             where cache_registry.object = o;
            failed := failed || o;
            if f_state is null then
                f_state := e_state; f_msg := e_msg; f_detail := e_detail; f_hint := e_hint;
            end if;
        end if;
        if can_commit then
            commit;
        end if;
    end loop;

    if f_state is not null then
        if cardinality(failed) > 1 then
            f_detail := concat_ws(E'\n', nullif(f_detail, ''),
                                  'stripe_fdw: caches that failed to refresh: ' || array_to_string(failed, ', '));
        end if;
        f_detail := nullif(f_detail, '');
        f_hint := nullif(f_hint, '');
        if f_detail is null and f_hint is null then
            raise exception using errcode = f_state, message = f_msg;
        elsif f_hint is null then
            raise exception using errcode = f_state, message = f_msg, detail = f_detail;
        elsif f_detail is null then
            raise exception using errcode = f_state, message = f_msg, hint = f_hint;
        else
            raise exception using errcode = f_state, message = f_msg, detail = f_detail, hint = f_hint;
        end if;
    end if;
end
$$;

comment on procedure stripe_fdw.refresh_cache(text) is
    'Refresh one cache or all (CALL, not SELECT); on failure the old rows stay, the error is recorded in cache_status and re-raised';

create view stripe_fdw.cache_status as
select r.object,
       r.cache_relation,
       r.refreshed_at,
       case when r.refreshed_at is not null
            then greatest(pg_catalog.now() - r.refreshed_at, interval '0') end as age,
       r.row_count,
       r.duration,
       r.last_error,
       r.last_error_at
  from stripe_fdw.cache_registry r
 where exists (select 1 from pg_catalog.pg_class c where c.oid = r.cache_relation)
 order by r.object;

comment on view stripe_fdw.cache_status is
    'One row per stripe_fdw cache: when it was refreshed, how old it is, its size and last error';
