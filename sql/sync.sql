-- stripe_fdw sync, part one: the registry of the app's own tables kept equal to stripe_fdw foreign
-- tables, the column mapping and its checks, and create_sync. See docs/sync.md.
-- Needs sql/cache.sql (schema stripe_fdw, _handler, _has_column).
--
-- Every function pins search_path to pg_catalog, pg_temp and qualifies the rest. So the
-- expressions of a mapping are compiled with that path too: a function or type of your own in an
-- expression must be schema-qualified (the target's column types are, by format_type).

-- One row per target table. Names, not OIDs: re-importing the foreign schema (drop + import) or an
-- app migration that recreates a table keeps its registration. A registration acts only for the
-- role that made it (registrant) and its members, and only while the table is owned by the role
-- that owned it then (target_owner): a table dropped and made again by someone else is skipped.
create table stripe_fdw.sync_registry (
    target_schema text not null,
    target_name   text not null,
    source_schema text not null,
    source_name   text not null,
    columns       jsonb not null default '{}',
    source_filter text,          -- a condition over the source's columns (alias s): only the rows it
                                 -- holds for are kept in the target (null: every row)
    registered_at timestamptz not null default pg_catalog.now(),
    synced_at     timestamptz,
    inserted      bigint,
    updated       bigint,
    deleted       bigint,
    duration      interval,
    last_error    text,
    last_error_at timestamptz,
    repaired      bigint,        -- rows the last scheduled reconciliation wrote (not a first fill)
    rows_skipped  bigint,        -- rows the last full sync left as they are: they cannot be mapped
    skip_reasons  text[],        -- (a NOT NULL column would be null), and the first reasons
    skipped       text,          -- why the last call that met it could not apply it (its rights)
    skipped_at    timestamptz,
    registrant    regrole not null,  -- the role that called create_sync (kept by OID, dumped by name)
    target_owner  regrole,       -- the table's owner then
    target_oid    oid,           -- the table then (informational: a dump and restore changes it)
    primary key (target_schema, target_name)
);
-- pg_dump keeps the rows (the table itself is recreated by CREATE EXTENSION).
select pg_catalog.pg_extension_config_dump('stripe_fdw.sync_registry', '');

comment on table stripe_fdw.sync_registry is
    'stripe_fdw syncs: one row per table kept equal to a stripe_fdw foreign table by stripe_fdw.create_sync()';

-- Schema and name of a relation, as stored in the registry.
create function stripe_fdw._sync_name(rel regclass, out nsp text, out rel_name text)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select n.nspname::text, c.relname::text
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.oid = rel
$$;

-- The relation schema nsp holds under name rel_name, or null: read from the catalogs, so a schema
-- the caller has no USAGE on is no error (to_regclass would raise one).
create function stripe_fdw._rel(nsp text, rel_name text) returns regclass
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select c.oid::regclass
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = nsp and c.relname = rel_name
$$;

-- A role given grant_admin writes the registry, but only its own rows: a registration holds SQL
-- (its columns' expressions) that runs when its registrant syncs, so no role may make or change
-- one in another's name, nor record an owner it does not act for (create_sync checks that the
-- table is the caller's; a row naming a table owned by someone else is skipped at every call).
-- The extension's owner, and superusers, are not bound by it.
alter table stripe_fdw.sync_registry enable row level security;
create policy registrant_only on stripe_fdw.sync_registry
    using (stripe_fdw._acts_for(registrant))
    with check (stripe_fdw._acts_for(registrant)
                and pg_catalog.pg_has_role(current_user, target_owner::oid, 'usage'));

-- Raise an error again with the parts a handler caught (RAISE refuses a null option, and an empty
-- DETAIL or HINT would still be shown).
create function stripe_fdw._reraise(st text, msg text, det text, hnt text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    det := nullif(det, '');
    hnt := nullif(hnt, '');
    if det is null and hnt is null then
        raise exception using errcode = st, message = msg;
    elsif hnt is null then
        raise exception using errcode = st, message = msg, detail = det;
    elsif det is null then
        raise exception using errcode = st, message = msg, hint = hnt;
    end if;
    raise exception using errcode = st, message = msg, detail = det, hint = hnt;
end
$$;

-- Is rel a foreign table of this extension's wrapper?
create function stripe_fdw._is_stripe_table(rel regclass) returns bool
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select exists (
        select 1
          from pg_catalog.pg_foreign_table ft
          join pg_catalog.pg_foreign_server fs on fs.oid = ft.ftserver
          join pg_catalog.pg_foreign_data_wrapper w on w.oid = fs.srvfdw
         where ft.ftrelid = rel and w.fdwhandler = stripe_fdw._handler())
$$;

-- How two values of type typ are compared: '' (as they are), or '::text' for the types without an
-- equality operator (json, xml, point).
create function stripe_fdw._sync_cmp(typ text) returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
    execute format('select null::%1$s is distinct from null::%1$s', typ);
    return '';
exception when undefined_function then
    return '::text';
end
$$;

-- The columns a sync writes into p_target: for each, the SQL expression over the source's columns
-- that gives its value (alias s), its type, whether it is the key (the Stripe id), and how two of
-- its values are compared. Checks everything and says what is wrong: the target is a table, the
-- source a stripe_fdw table with an id, every mapped column exists and can be written, every
-- expression compiles to one value per row and casts to its column's type, and the key holds the
-- id. Nothing is read from Stripe: the expressions are tried on a row of nulls.
create function stripe_fdw._sync_columns(p_target regclass, p_source regclass, p_columns jsonb)
returns table (col text, expr text, typ text, full_typ text, is_key bool, cmp text)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    kind     "char";
    nulls    text;
    key_col  text;
    first_key text;
    src_cols text;
    r        record;
    e        text;
    etyp     text;
    st       text;
    msg      text;
    x        record;
begin
    select c.relkind into kind from pg_catalog.pg_class c where c.oid = p_target;
    if kind is null then
        raise exception 'stripe_fdw: the sync target (oid %) does not exist', p_target::oid using errcode = '42P01';
    end if;
    if kind not in ('r', 'p') then
        raise exception 'stripe_fdw: the sync target % is not a table', p_target
            using errcode = '42809',
                  hint = 'The target is a table of your own (e.g. public.products); the source is the stripe_fdw foreign table (e.g. stripe.products).';
    end if;
    if p_source is null or not (stripe_fdw._is_stripe_table(p_source) or stripe_fdw._is_json_source(p_source)) then
        raise exception 'stripe_fdw: the sync source % is not a stripe_fdw foreign table', p_source
            using errcode = '42809',
                  hint = 'Import the tables first: import foreign schema stripe from server <server> into stripe; then use e.g. ''stripe.products''. '
                         || 'Without the extension''s library (hosted Supabase): select stripe_fdw.create_sources(); (docs/hosted-supabase.md).';
    end if;
    if not stripe_fdw._has_column(p_source, 'id') then
        raise exception 'stripe_fdw: the sync source % has no id column', p_source
            using errcode = '42703', hint = 'Declare the foreign table with its id column.';
    end if;
    select string_agg(pg_catalog.quote_ident(a.attname), ', ' order by a.attnum) into src_cols
      from pg_catalog.pg_attribute a
     where a.attrelid = p_source and a.attnum > 0 and not a.attisdropped;
    if p_columns is null or pg_catalog.jsonb_typeof(p_columns) <> 'object' then
        raise exception 'stripe_fdw: columns must be a JSON object mapping a column of % to an SQL expression', p_target
            using errcode = '22023', hint = 'E.g. ''{"image": "images[1]", "product_id": "product"}''.';
    end if;
    for r in select j.key, j.value from pg_catalog.jsonb_each(p_columns) j loop
        -- null: the column is left alone (below).
        if pg_catalog.jsonb_typeof(r.value) not in ('string', 'null')
           or pg_catalog.btrim(coalesce(r.value #>> '{}', 'null')) = '' then
            raise exception 'stripe_fdw: the expression for column "%" must be a non-empty string of SQL, or null to leave the column alone', r.key
                using errcode = '22023', detail = 'given: ' || r.value::text;
        end if;
        select a.attgenerated, a.attidentity into x
          from pg_catalog.pg_attribute a
         where a.attrelid = p_target and a.attname = r.key and a.attnum > 0 and not a.attisdropped;
        if not found then
            raise exception 'stripe_fdw: % has no column "%"', p_target, r.key
                using errcode = '42703',
                      detail = 'columns of ' || p_target::text || ': ' || (
                          select string_agg(pg_catalog.quote_ident(a.attname), ', ' order by a.attnum)
                            from pg_catalog.pg_attribute a
                           where a.attrelid = p_target and a.attnum > 0 and not a.attisdropped);
        end if;
        if x.attgenerated <> '' or x.attidentity = 'a' then
            raise exception 'stripe_fdw: column "%" of % is generated; it cannot be synced', r.key, p_target
                using errcode = '428C9', hint = 'Remove it from columns.';
        end if;
    end loop;

    -- The key: the single-column primary key, or a unique index on one not-null column (not
    -- partial, not an expression), that holds the id. A surrogate primary key (say a serial) with
    -- a unique stripe id column beside it works: the column mapped to id is the key.
    for r in
        select a.attname::text as name, i.indisprimary as pk,
               case when pg_catalog.jsonb_typeof(p_columns -> a.attname::text) = 'null' then ''
                    else pg_catalog.btrim(coalesce(p_columns ->> a.attname::text,
                        case when stripe_fdw._has_column(p_source, a.attname) then pg_catalog.quote_ident(a.attname) end, ''))
               end as mapped
          from pg_catalog.pg_index i
          join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
         where i.indrelid = p_target and i.indnkeyatts = 1 and i.indkey[0] > 0 and i.indpred is null
           and (i.indisprimary or (i.indisunique and a.attnotnull))
         order by i.indisprimary desc, a.attnum
    loop
        if r.mapped in ('id', '"id"', 's.id', 's."id"') then
            key_col := r.name;
            exit;
        end if;
        e := concat_ws(', ', e, format('%I (%s, %s)', r.name, case when r.pk then 'primary key' else 'unique' end,
                                       case when r.mapped = '' then 'not mapped' else 'mapped to ' || r.mapped end));
        first_key := coalesce(first_key, r.name);
    end loop;
    if key_col is null and e is null then
        raise exception 'stripe_fdw: % has no key for the Stripe id', p_target
            using errcode = '42P10',
                  hint = 'Give it a single-column primary key (or a unique, not-null column) that holds the Stripe id, e.g. id text primary key.';
    elsif key_col is null then
        raise exception 'stripe_fdw: no key column of % holds the Stripe id', p_target
            using errcode = '22023', detail = 'key columns: ' || e,
                  hint = format('Map one of them to the source''s id, e.g. {"%s": "id"}.', first_key);
    end if;

    nulls := format('(select (null::%s).*) s', p_source);
    for r in
        select a.attname::text as name, a.atttypid, a.atttypmod, a.attgenerated, a.attidentity
          from pg_catalog.pg_attribute a
         where a.attrelid = p_target and a.attnum > 0 and not a.attisdropped
         order by a.attnum
    loop
        -- Mapped to null: left alone, even when the source has a column of that name.
        continue when pg_catalog.jsonb_typeof(p_columns -> r.name) = 'null';
        e := p_columns ->> r.name;
        if e is null then
            if r.attgenerated <> '' or r.attidentity = 'a' or not stripe_fdw._has_column(p_source, r.name) then
                continue;  -- left alone: its default on insert, untouched on update
            end if;
            e := pg_catalog.quote_ident(r.name);
        end if;
        -- One value per row: aggregates, window and set-returning functions are refused in WHERE.
        -- A FOR loop opens a cursor, which also refuses a string of several statements.
        begin
            for x in execute format('select pg_catalog.pg_typeof(%s)::text as t from %s where ((%s) is null) is not null', e, nulls, e) loop
                etyp := x.t;
            end loop;
        exception when others then
            get stacked diagnostics st = returned_sqlstate, msg = message_text;
            raise exception 'stripe_fdw: the expression for column "%" of % is not a valid expression over %: %', r.name, p_target, p_source, msg
                using errcode = st, detail = 'expression: ' || e,
                      hint = 'Columns of ' || p_source::text || ': ' || src_cols || '. Functions and types of your own must be schema-qualified.';
        end;
        typ := pg_catalog.format_type(r.atttypid, null);
        full_typ := pg_catalog.format_type(r.atttypid, r.atttypmod);
        begin
            for x in execute format('select (%s)::%s as v from %s', e, typ, nulls) loop
            end loop;
        exception when others then
            get stacked diagnostics st = returned_sqlstate, msg = message_text;
            raise exception 'stripe_fdw: the expression for column "%" of % gives %, which cannot be cast to %', r.name, p_target, etyp, full_typ
                using errcode = st, detail = 'expression: ' || e || E'\n' || msg,
                      hint = 'Change the expression (e.g. add a cast or a conversion) or the column''s type.';
        end;
        cmp := stripe_fdw._sync_cmp(typ);
        col := r.name;
        expr := e;
        is_key := r.name = key_col;
        return next;
    end loop;
end
$$;

-- Check a source_filter: one boolean value per row of p_source (alias s), no aggregate, window or
-- set-returning function, one statement. Nothing is read from Stripe: it is tried on a row of nulls.
create function stripe_fdw._sync_filter_check(p_source regclass, p_filter text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    x   record;
    t   text;
    st  text;
    msg text;
begin
    if p_filter is null then
        return;
    end if;
    if pg_catalog.btrim(p_filter) = '' then
        raise exception 'stripe_fdw: source_filter must be a condition over the columns of % (or null for every row)', p_source
            using errcode = '22023', hint = 'E.g. source_filter => ''s.status <> ''''incomplete_expired''''''.';
    end if;
    begin
        for x in execute format('select pg_catalog.pg_typeof(%1$s)::text as t from (select (null::%2$s).*) s where ((%1$s) is null) is not null',
                                p_filter, p_source) loop
            t := x.t;
        end loop;
    exception when others then
        get stacked diagnostics st = returned_sqlstate, msg = message_text;
        raise exception 'stripe_fdw: source_filter is not a valid condition over %: %', p_source, msg
            using errcode = st, detail = 'source_filter: ' || p_filter,
                  hint = 'Use the source''s columns (alias s); functions and types of your own must be schema-qualified.';
    end;
    if t is distinct from 'boolean' then
        raise exception 'stripe_fdw: source_filter gives %, not boolean', t
            using errcode = '42804', detail = 'source_filter: ' || p_filter,
                  hint = 'A condition, e.g. s.status <> ''incomplete_expired''.';
    end if;
end
$$;

create function stripe_fdw.create_sync(target regclass, source regclass, columns jsonb default '{}',
                                       source_filter text default null)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    t record;
    s record;
begin
    if create_sync.target is null then
        raise exception 'stripe_fdw: the sync target must not be null' using errcode = '22004';
    end if;
    -- Only the table's owner (or a member of its owner role) registers it; every later sync,
    -- webhook and catch_up applies it only when called by the registrant itself.
    if not pg_catalog.pg_has_role(current_user, stripe_fdw._owner_of(create_sync.target)::oid, 'usage') then
        raise exception 'stripe_fdw: only the owner of % (role %) may register it for sync, not role %',
                        create_sync.target, stripe_fdw._owner_of(create_sync.target), current_user
            using errcode = '42501',
                  hint = 'Run create_sync as the owner of the table (or a member of its owner role).';
    end if;
    perform stripe_fdw._sync_columns(create_sync.target, create_sync.source, coalesce(create_sync.columns, '{}'));
    perform stripe_fdw._sync_filter_check(create_sync.source, create_sync.source_filter);
    t := stripe_fdw._sync_name(create_sync.target);
    s := stripe_fdw._sync_name(create_sync.source);
    if exists (select from stripe_fdw.sync_registry g
                where (g.target_schema, g.target_name) = (t.nsp, t.rel_name)
                  and (g.source_schema, g.source_name) is distinct from (s.nsp, s.rel_name)) then
        raise notice 'stripe_fdw: % was kept equal to %.% until now; from now on it is %',
                     create_sync.target,
                     (select g.source_schema from stripe_fdw.sync_registry g where (g.target_schema, g.target_name) = (t.nsp, t.rel_name)),
                     (select g.source_name from stripe_fdw.sync_registry g where (g.target_schema, g.target_name) = (t.nsp, t.rel_name)),
                     create_sync.source;
    end if;
    insert into stripe_fdw.sync_registry as g
           (target_schema, target_name, source_schema, source_name, columns, source_filter, registrant, target_owner, target_oid)
    values (t.nsp, t.rel_name, s.nsp, s.rel_name, coalesce(create_sync.columns, '{}'), create_sync.source_filter,
            stripe_fdw._me(),
            stripe_fdw._owner_of(create_sync.target), create_sync.target::oid)
    on conflict (target_schema, target_name) do update
       set source_schema = excluded.source_schema,
           source_name = excluded.source_name,
           columns = excluded.columns,
           source_filter = excluded.source_filter,
           registrant = excluded.registrant,
           target_owner = excluded.target_owner,
           target_oid = excluded.target_oid,
           skipped = null,
           skipped_at = null,
           registered_at = pg_catalog.now();
end
$$;

comment on function stripe_fdw.create_sync(regclass, regclass, jsonb, text) is
    'Register that table target is kept equal to the stripe_fdw foreign table source (columns: target column -> SQL expression over the source, or null to leave it alone; source_filter: only the rows it holds for); CALL stripe_fdw.sync() applies it';

-- The registered targets the calling role acts for (it made them, or is a member of the role
-- that did) and their sources: one target (an error when it is not registered, or registered by
-- another role), or all whose table exists (a table dropped by a migration keeps its registration
-- for when it is back). Registrations of other roles are left out silently.
create function stripe_fdw._sync_targets(p_target regclass default null)
returns table (target regclass, source regclass, columns jsonb, source_name text, target_owner regrole,
               source_filter text)
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    t_nsp  text;
    t_name text;
    who    regrole;
begin
    if p_target is not null then
        select n.nsp, n.rel_name into t_nsp, t_name from stripe_fdw._sync_name(p_target) n;
        select g.registrant into who from stripe_fdw.sync_registry g
         where g.target_schema = t_nsp and g.target_name = t_name;
        if not found then
            raise exception 'stripe_fdw: % is not a sync target', p_target
                using errcode = '42704',
                      hint = 'Register it with stripe_fdw.create_sync(target, source, columns).';
        elsif not stripe_fdw._acts_for(who) then
            raise exception 'stripe_fdw: % is registered for sync by role %; only that role syncs it', p_target, who
                using errcode = '42501',
                      hint = pg_catalog.format('Sync it as %s (set role %s; or a connection as it), or register it again as yourself.', who, who);
        end if;
    end if;
    return query
    select stripe_fdw._rel(g.target_schema, g.target_name),
           stripe_fdw._rel(g.source_schema, g.source_name),
           g.columns,
           format('%I.%I', g.source_schema, g.source_name),
           g.target_owner,
           g.source_filter
      from stripe_fdw.sync_registry g
     where (p_target is null or (g.target_schema, g.target_name) = (t_nsp, t_name))
       and stripe_fdw._rel(g.target_schema, g.target_name) is not null
       and stripe_fdw._acts_for(g.registrant)
     order by g.target_schema, g.target_name;
end
$$;

-- The effective mapping of a registered target, as sync() will apply it.
create function stripe_fdw.sync_columns(target regclass)
returns table (column_name text, expression text, column_type text, is_key bool)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    g record;
begin
    select * into g from stripe_fdw._sync_targets(sync_columns.target);
    if g.source is null then
        raise exception 'stripe_fdw: the source % of sync target % no longer exists', g.source_name, sync_columns.target
            using errcode = '42P01', hint = 'Import it again, or register the target again with create_sync.';
    end if;
    return query select c.col, c.expr, c.full_typ, c.is_key
                   from stripe_fdw._sync_columns(g.target, g.source, g.columns) c;
end
$$;

comment on function stripe_fdw.sync_columns(regclass) is
    'The columns stripe_fdw.sync() writes into a target, with the expression over the source and the type of each';
