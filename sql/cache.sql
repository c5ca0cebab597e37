-- stripe_fdw cache, part one: the registry and create_cache(). See docs/cache.md.
--
-- A cache of foreign table <source>.<t> is the materialized view <cache>.<t> over it, made by
-- create_cache() for the role that called it (WITH NO DATA: reading it before its first refresh is
-- PostgreSQL's "has not been populated" error), with a unique index on id so that
-- REFRESH MATERIALIZED VIEW CONCURRENTLY works and never blocks its readers. refresh_cache()
-- (sql/cache_refresh.sql) runs that REFRESH; an event trigger (sql/cache_events.sql) records every
-- REFRESH of a cache, by hand or from pg_cron too, in the registry.
-- Every function pins search_path (pg_catalog, pg_temp) and qualifies the extension's objects;
-- names only known at call time go through format('%I') / regclass, each name formatted once.

create schema if not exists stripe_fdw;

-- One row per cache. object = format('%I.%I', cache_schema, cache_name): 'stripe_cache.products';
-- a schema 'a.b' with table 'c' is '"a.b".c', never the same as schema 'a' with table 'b.c'.
create table stripe_fdw.cache_registry (
    object         text primary key,
    cache_schema   text not null,
    cache_name     text not null,
    source_schema  text not null,
    source_name    text not null,
    source_object  text not null,              -- the foreign table's `object` option: 'products'
    cache_relation regclass not null unique,   -- the materialized view (whether it is populated:
                                               -- pg_class.relispopulated, never a copy of it)
    owner          regrole not null,           -- the role create_cache() made it for (a rename keeps it)
    stale_since    timestamptz,                -- first mark_cache_stale() of the current streak
    marked_at      timestamptz,                -- last mark_cache_stale()
    unique (cache_schema, cache_name)
);
-- Every refresh of a cache as it ended: a success, or a failure (its error).
-- Insert only: recording a refresh, which may happen in a transaction the caller keeps open
-- (BEGIN; REFRESH ...; more work; COMMIT), never locks a row a webhook marking the cache stale
-- needs, nor waits for one. The last success, and the last failure after it, are what
-- cache_status shows; the next success prunes the rows before it.
create table stripe_fdw.cache_refreshes (
    seq       bigserial primary key,
    object    text not null,           -- the cache (cache_registry.object)
    started   timestamptz not null,
    finished  timestamptz not null,
    error     text                     -- a failure: its message
);
create index cache_refreshes_object on stripe_fdw.cache_refreshes (object, seq);
-- The cache schemas create_cache() made, and for whom (a schema it did not make is refused).
create table stripe_fdw.cache_schemas (
    name  text primary key,
    owner regrole not null
);
-- pg_dump keeps the rows (the tables themselves are recreated by CREATE EXTENSION).
select pg_catalog.pg_extension_config_dump('stripe_fdw.cache_registry', '');
select pg_catalog.pg_extension_config_dump('stripe_fdw.cache_schemas', '');

comment on table stripe_fdw.cache_registry is
    'stripe_fdw caches: one row per cache made by stripe_fdw.create_cache()';

-- The handler function of this extension, or of another that keeps its SQL interface (Supabase
-- Wrappers' `wrappers`): found through the extension's membership, so it does not matter which
-- schema CREATE EXTENSION ran in.
create function stripe_fdw._handler(p_extension text default 'stripe_fdw') returns oid
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select p.oid
      from pg_catalog.pg_proc p
      join pg_catalog.pg_depend d
        on d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objid = p.oid and d.deptype = 'e'
      join pg_catalog.pg_extension e on e.oid = d.refobjid
     where e.extname = p_extension and p.proname = 'stripe_fdw_handler'
     limit 1
$$;

-- Does the calling role act for role r: is it r itself? Not merely a member of r: a member (a
-- superuser above all) usually has more rights than r, and a registration's expressions, and the
-- triggers of its table, must never run with more rights than its registrant's. A role that no
-- longer exists: no.
create function stripe_fdw._acts_for(r regrole) returns bool
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(r::oid operator(pg_catalog.=) (select x.oid from pg_catalog.pg_roles x where x.rolname = current_user), false)
$$;

-- The calling role.
create function stripe_fdw._me() returns regrole
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.to_regrole(pg_catalog.quote_ident(current_user))
$$;

-- The owner of a relation.
create function stripe_fdw._owner_of(rel regclass) returns regrole
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select c.relowner::regrole from pg_catalog.pg_class c where c.oid = rel
$$;

-- A role given grant_admin sees and writes only the caches it owns (a cache's owner decides which
-- tables its refresh writes into); the extension's owner and superusers are not bound by it.
alter table stripe_fdw.cache_registry enable row level security;
create policy owner_only on stripe_fdw.cache_registry
    using (stripe_fdw._acts_for(owner)) with check (stripe_fdw._acts_for(owner));
alter table stripe_fdw.cache_refreshes enable row level security;
create policy owner_only on stripe_fdw.cache_refreshes
    using (exists (select from stripe_fdw.cache_registry r where r.object = cache_refreshes.object))
    with check (exists (select from stripe_fdw.cache_registry r where r.object = cache_refreshes.object));
alter table stripe_fdw.cache_schemas enable row level security;
create policy owner_only on stripe_fdw.cache_schemas
    using (stripe_fdw._acts_for(owner)) with check (stripe_fdw._acts_for(owner));

-- The role a materialized view is registered as a cache of (its owner), whoever asks: the
-- registry's row-level security hides other roles' rows, and an error about a cache must tell a
-- cache of another role from a materialized view that is no cache at all. Shows no more than
-- pg_class does (the view's owner).
create function stripe_fdw._cache_owner(rel regclass) returns regrole
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select r.owner from stripe_fdw.cache_registry r
      join pg_catalog.pg_class c on c.oid = r.cache_relation
     where r.cache_relation = rel and c.relowner = r.owner::oid
$$;

-- Resolve a user-given cache name to its registry key: the exact key ('stripe_cache.products'),
-- or a bare table name ('products') when exactly one cache has it.
create function stripe_fdw._resolve(p_object text) returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    k text;
    n int;
    known text;
    rel regclass;
begin
    select r.object into k from stripe_fdw.cache_registry r where r.object = p_object;
    if found then
        return k;
    end if;
    select count(*), min(r.object) into n, k
      from stripe_fdw.cache_registry r where r.cache_name = p_object;
    if n = 1 then
        return k;
    end if;
    select coalesce(string_agg(r.object, ', ' order by r.object), '(none)') into known
      from stripe_fdw.cache_registry r;
    if n > 1 then
        raise exception 'stripe_fdw: cache name "%" is ambiguous', p_object
            using errcode = '42725', detail = 'cached objects: ' || known,
                  hint = 'Qualify it with its cache schema, e.g. ''stripe_cache.' || p_object || '''.';
    end if;
    -- A cache of another role (its registry row is hidden from this one), e.g. the caller is a
    -- member of the role that made it: say whose it is, and what works.
    begin
        rel := pg_catalog.to_regclass(p_object);
    exception when others then
        rel := null;
    end;
    if rel is not null and stripe_fdw._cache_owner(rel) is not null then
        raise exception 'stripe_fdw: % is not a cache of role %', rel, current_user
            using errcode = '42501',
                  detail = pg_catalog.format('It is a cache of role %s; refresh_cache() refreshes only the caches the calling role made.', stripe_fdw._cache_owner(rel)),
                  hint = pg_catalog.format('Run: refresh materialized view %s; (cache_status records it too), or call refresh_cache() as role %s.', rel, stripe_fdw._cache_owner(rel));
    end if;
    raise exception 'stripe_fdw: no cache named "%"', p_object
        using errcode = '42704', detail = 'cached objects: ' || known,
              hint = 'Create caches with stripe_fdw.create_cache(source_schema, cache_schema).';
end
$$;

create function stripe_fdw._has_column(rel regclass, col name) returns bool
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select exists (select 1 from pg_catalog.pg_attribute a
                    where a.attrelid = rel and a.attname = col and a.attnum > 0 and not a.attisdropped)
$$;

-- The columns of rel, quoted, in order, joined with ', ' (each prefixed with alias. when given).
create function stripe_fdw._columns(rel regclass, alias text default null) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.string_agg(
               case when alias is null then '' else alias || '.' end || pg_catalog.quote_ident(a.attname),
               ', ' order by a.attnum)
      from pg_catalog.pg_attribute a
     where a.attrelid = rel and a.attnum > 0 and not a.attisdropped
$$;

-- The key a cache's rows are told apart by: its id column, else attrs->>'id', else none (nulls):
-- the column, and the field of it when the key is inside a JSON column.
create function stripe_fdw._key_of(rel regclass, out key_col text, out key_field text)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select case when stripe_fdw._has_column(rel, 'id') then 'id'
                when stripe_fdw._has_column(rel, 'attrs') then 'attrs' end,
           case when not stripe_fdw._has_column(rel, 'id') and stripe_fdw._has_column(rel, 'attrs')
                then 'id' end
$$;

-- A key as an expression: column col of alias (alias.col), or its field (alias.col ->> 'field');
-- alias null: unqualified (an index expression); col null: null (no key). The sync engine
-- (sql/sync_apply.sql) joins by it too.
create function stripe_fdw._key_expr(col text, field text, alias text default null) returns text
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    select case when col is null then null
                when field is null then coalesce(alias || '.', '') || pg_catalog.quote_ident(col)
                else '(' || coalesce(alias || '.', '') || pg_catalog.quote_ident(col)
                     || ' operator(pg_catalog.->>) ' || pg_catalog.quote_literal(field) || '::pg_catalog.text)' end
$$;

-- The key of a cache's rows as an expression (see _key_of); alias: the table alias to prefix, or
-- null for none (an index expression).
create function stripe_fdw._key(rel regclass, alias text default null) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select stripe_fdw._key_expr(k.key_col, k.key_field, alias) from stripe_fdw._key_of(rel) k
$$;

-- Refuse a relation in the cache schema that create_cache() did not make for this role.
create function stripe_fdw._own_relation(rel regclass, expected regclass, what text) returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if rel is null then
        return;
    end if;
    if expected is distinct from rel
       or (select c.relowner from pg_catalog.pg_class c where c.oid = rel)
          is distinct from (select r.oid from pg_catalog.pg_roles r where r.rolname = current_user) then
        raise exception 'stripe_fdw: % already exists and was not made by stripe_fdw.create_cache() for role "%"',
                        rel, current_user
            using errcode = '42P07',
                  detail = 'create_cache() needs it for ' || what || '; it will not read, fill or serve a relation someone else made.',
                  hint = 'Drop or rename it if it is yours to drop, or pass another cache_schema to create_cache().';
    end if;
end
$$;

-- objects: the Stripe objects (the foreign tables' `object` option) to cache; null: every one a
-- scan reads whole, but events (a 30-day log that catch_up reads live). The default is the
-- catalog's: a cache of every object of an account (charges, invoices, ...) would read all of it
-- at every refresh.
create function stripe_fdw.create_cache(
    source_schema text default 'stripe',
    cache_schema  text default 'stripe_cache',
    objects       text[] default array['products', 'prices']
) returns setof regclass
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    h      oid := stripe_fdw._handler();
    src_ns oid := pg_catalog.to_regnamespace(pg_catalog.quote_ident(source_schema));
    me     oid := (select r.oid from pg_catalog.pg_roles r where r.rolname = current_user);
    ns     oid;
    t      record;
    reg    stripe_fdw.cache_registry;
    k      text;
    vrel   regclass;
    kexpr  text;
    made   int := 0;
    wanted text;
begin
    if h is null then
        raise exception 'stripe_fdw: the stripe_fdw_handler function of the extension was not found';
    end if;
    if src_ns is null then
        raise exception 'stripe_fdw: schema "%" does not exist', source_schema
            using errcode = '3F000',
                  hint = 'Import the tables first: import foreign schema stripe from server <server> into ' || pg_catalog.quote_ident(source_schema) || ';';
    end if;
    -- The cache schema: made here, or made here before for this role (and still owned by it).
    ns := pg_catalog.to_regnamespace(pg_catalog.quote_ident(cache_schema));
    if ns is null then
        execute pg_catalog.format('create schema %I', cache_schema);
        insert into stripe_fdw.cache_schemas as s (name, owner) values (cache_schema, stripe_fdw._me())
            on conflict (name) do update set owner = excluded.owner;
    elsif not exists (select 1 from stripe_fdw.cache_schemas s
                       where s.name = cache_schema and s.owner = stripe_fdw._me())
          or (select n.nspowner from pg_catalog.pg_namespace n where n.oid = ns) <> me then
        raise exception 'stripe_fdw: schema "%" already exists and was not made by stripe_fdw.create_cache() for role "%"',
                        cache_schema, current_user
            using errcode = '42P07',
                  detail = 'A cache schema holds only what create_cache() made: it will not fill or serve relations someone else could have made there.',
                  hint = 'Pass a schema name that does not exist yet; create_cache() makes it.';
    end if;

    -- Each object asked for must be one a scan reads whole (the schema's tables of them are cached;
    -- none at all is an error below).
    if pg_catalog.cardinality(create_cache.objects) = 0 then
        raise exception 'stripe_fdw: objects is empty: nothing to cache'
            using errcode = '22023',
                  hint = 'Name the Stripe objects to cache (default array[''products'', ''prices'']), or pass null for every one a scan reads whole.';
    end if;
    foreach wanted in array coalesce(create_cache.objects, '{}') loop
        if wanted is null or not wanted = any(stripe_fdw._object_names()) then
            raise exception 'stripe_fdw: "%" is not a Stripe object stripe_fdw knows', wanted
                using errcode = '22023',
                      detail = 'objects: ' || pg_catalog.array_to_string(stripe_fdw._object_names(), ', '),
                      hint = 'objects takes the foreign tables'' object option (checkout/sessions), not their names (checkout_sessions).';
        end if;
        if not stripe_fdw._listable(wanted) then
            raise exception 'stripe_fdw: cannot cache Stripe object "%": a scan of it does not read all of them', wanted
                using errcode = '0A000',
                      detail = 'Stripe has no list of it, or its list needs a condition (tokens, mandates, setup_attempts, subscription_items).',
                      hint = 'Leave it out of objects, and read its foreign table with the condition it needs.';
        end if;
    end loop;
    -- The tables of those objects (every one a scan reads whole, but events, when null).
    for t in
        select * from (
        select c.oid::regclass as rel, c.relname::text as name,
               coalesce((select pg_catalog.substr(o, 8) from pg_catalog.unnest(ft.ftoptions) o
                          where o like 'object=%' limit 1), c.relname::text) as object
          from pg_catalog.pg_class c
          join pg_catalog.pg_foreign_table ft on ft.ftrelid = c.oid
          join pg_catalog.pg_foreign_server fs on fs.oid = ft.ftserver
          join pg_catalog.pg_foreign_data_wrapper w on w.oid = fs.srvfdw
         where c.relnamespace = src_ns and w.fdwhandler = h
        ) tables
         where (create_cache.objects is null and tables.object <> 'events' and stripe_fdw._listable(tables.object))
            or tables.object = any(create_cache.objects)
         order by tables.name
    loop
        k := pg_catalog.format('%I.%I', cache_schema, t.name);
        vrel := pg_catalog.to_regclass(k);
        select * into reg from stripe_fdw.cache_registry r where r.object = k;
        if found and reg.owner <> stripe_fdw._me() then
            raise exception 'stripe_fdw: cache % was made by create_cache() for role "%", not "%"',
                            k, reg.owner, current_user
                using errcode = '42P07', hint = 'Call create_cache() as that role, or pass another cache_schema.';
        end if;
        perform stripe_fdw._own_relation(vrel, reg.cache_relation, 'the cache of ' || t.rel::text);
        if vrel is null then
            -- Empty until its first refresh: reading it is PostgreSQL's "has not been populated".
            execute pg_catalog.format('create materialized view %I.%I as select %s from %s f with no data',
                                      cache_schema, t.name, stripe_fdw._columns(t.rel, 'f'), t.rel);
            vrel := k::regclass;
            -- New, empty: whatever was known of a cache of that name is gone.
            update stripe_fdw.cache_registry r set stale_since = null, marked_at = null where r.object = k;
            delete from stripe_fdw.cache_refreshes x where x.object = k;
        end if;
        execute pg_catalog.format('comment on materialized view %s is %L', vrel,
            'stripe_fdw: cache of ' || t.rel::text || ' (REFRESH MATERIALIZED VIEW CONCURRENTLY, or call stripe_fdw.refresh_cache())');
        -- Indexes: the key (unique: on the id column it lets REFRESH ... CONCURRENTLY work),
        -- prices by product, and active.
        kexpr := stripe_fdw._key(vrel);
        if kexpr is not null then
            perform stripe_fdw._index(vrel, t.name || '_id_key', kexpr, true);
        end if;
        if stripe_fdw._has_column(vrel, 'product') then
            perform stripe_fdw._index(vrel, t.name || '_product_idx', 'product', false);
        elsif t.object = 'prices' and stripe_fdw._has_column(vrel, 'attrs') then
            perform stripe_fdw._index(vrel, t.name || '_product_idx', '(attrs ->> ''product'')', false);
        end if;
        if stripe_fdw._has_column(vrel, 'active') then
            perform stripe_fdw._index(vrel, t.name || '_active_idx', 'active', false);
        end if;
        insert into stripe_fdw.cache_registry as g
               (object, cache_schema, cache_name, source_schema, source_name, source_object,
                cache_relation, owner)
        values (k, cache_schema, t.name, source_schema, t.name, t.object, vrel, stripe_fdw._me())
        on conflict (object) do update
           set source_schema = excluded.source_schema, source_name = excluded.source_name,
               source_object = excluded.source_object, cache_relation = excluded.cache_relation;
        made := made + 1;
        return next vrel;
    end loop;
    if made = 0 then
        raise exception 'stripe_fdw: no stripe_fdw foreign table of % in schema "%"',
                        coalesce(pg_catalog.array_to_string(create_cache.objects, ', '), 'a Stripe object a scan reads whole'), source_schema
            using errcode = '42P01',
                  hint = 'Import them first: import foreign schema stripe from server <server> into ' || pg_catalog.quote_ident(source_schema) || ';';
    end if;
    perform stripe_fdw._create_catalog(cache_schema);
end
$$;

comment on function stripe_fdw.create_cache(text, text, text[]) is
    'Create (idempotently) a cache (a materialized view) of the foreign tables of source_schema holding objects (default products and prices) in cache_schema, plus cache_schema.catalog; fill them with CALL stripe_fdw.refresh_cache()';

-- An index named name on rel (expr: a column name or a parenthesized expression); an existing
-- relation of that name must be an index on rel.
create function stripe_fdw._index(rel regclass, name text, expr text, is_unique bool) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    nsp  text := (select n.nspname from pg_catalog.pg_class c
                    join pg_catalog.pg_namespace n on n.oid = c.relnamespace where c.oid = rel);
    have regclass := pg_catalog.to_regclass(pg_catalog.format('%I.%I', nsp, name));
begin
    if have is not null then
        if not exists (select 1 from pg_catalog.pg_index i where i.indexrelid = have and i.indrelid = rel) then
            perform stripe_fdw._own_relation(have, null, 'an index of ' || rel::text);
        end if;
        return;
    end if;
    execute pg_catalog.format('create %s index %I on %s (%s)',
                              case when is_unique then 'unique' else '' end, name, rel, expr);
end
$$;
