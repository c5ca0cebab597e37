-- The functions over the lists above (hand-written in core/src/objects_sql_functions.sql, copied
-- here by the generator).

-- Every Stripe object stripe_fdw knows, by its `object` option (checkout/sessions), in
-- IMPORT FOREIGN SCHEMA order: for the errors that name them.
create function stripe_fdw._object_names() returns text[]
language sql immutable parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.array_agg(k.object order by k.n)
      from stripe_fdw._object_kinds()
           with ordinality as k(object, object_type, endpoint, listable, ids, list_defaults,
                                table_name, ids_max, n)
$$;

-- True when a scan of the foreign table of Stripe object `object` (its `object` option) with no
-- condition reads every one of them: a plain list, or the one balance. False for an unknown
-- object, a list that needs a condition (setup_attempts, subscription_items) and the objects
-- Stripe only retrieves by id (tokens, mandates).
create function stripe_fdw._listable(object text) returns bool
language sql immutable strict parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select coalesce((select k.listable from stripe_fdw._object_kinds() k where k.object = $1), false)
$$;

-- The error of a value a column cannot hold, worded as the foreign table's (core/src/value.rs,
-- ShapeError): what Stripe sent as JSON text, cut to 57 characters and '...' past 60 bytes.
-- p_why 'range': a time out of the range a timestamp holds. Volatile: never evaluated ahead of
-- the CASE branch that calls it.
create function stripe_fdw._object_bad_value(p_col text, p_typ text, p_got jsonb, p_why text default null)
returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    got text := p_got::text;
begin
    if pg_catalog.octet_length(got) > 60 then
        got := pg_catalog.left(got, 57) || '...';
    end if;
    if p_why = 'range' then
        raise exception 'column "%": timestamp % is out of range', p_col, got
            using errcode = 'HV004',
                  hint = 'Stripe sent a value this column cannot hold; read it through attrs, or report it with the api_version in use.';
    end if;
    raise exception 'column "%" expects %, but Stripe sent %', p_col, p_typ, got
        using errcode = 'HV004',
              hint = 'Stripe''s object does not match stripe_fdw''s column definition; report it with the api_version in use.';
end
$$;

-- Refuse an object name stripe_fdw does not know (22023, naming the ones it knows).
create function stripe_fdw._object_unknown(p_object text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception 'stripe_fdw: "%" is not a Stripe object stripe_fdw knows', p_object
        using errcode = '22023',
              detail = 'objects: ' || pg_catalog.array_to_string(stripe_fdw._object_names(), ', '),
              hint = 'Name the foreign tables'' object option (checkout/sessions), not their names (checkout_sessions).';
end
$$;

-- The value of one column, as the foreign table converts it (core/src/value.rs), given the JSON
-- value Stripe sent for it (v): JSON whose jsonb_populate_record into the column's type is the
-- foreign table's value; SQL NULL for a missing or null one. stripe_fdw._object_row (below)
-- calls one per column. These carry no SET search_path, because Postgres inlines into the
-- calling expression only functions without one (called as functions, each would cost an executor
-- run: 10x slower); every name and operator in them is qualified, so whatever search_path they are
-- parsed with, they mean the same. Volatile, as the error they may raise: never evaluated ahead of
-- the branch that calls it.

-- text: a string, or an expanded object (default_price, product) shown by its id.
create function stripe_fdw._cell_text(col text, v jsonb) returns jsonb
language sql volatile parallel safe
as $$
    select case when pg_catalog.jsonb_typeof(v) operator(pg_catalog.=) 'string' then v
                when v is null or pg_catalog.jsonb_typeof(v) operator(pg_catalog.=) 'null' then null
                when pg_catalog.jsonb_typeof(v) operator(pg_catalog.<>) 'object'
                     then stripe_fdw._object_bad_value(col, 'text', v)
                when pg_catalog.jsonb_typeof(v operator(pg_catalog.->) 'id') operator(pg_catalog.=) 'string'
                     then v operator(pg_catalog.->) 'id'
                else stripe_fdw._object_bad_value(col, 'text', v operator(pg_catalog.-) 'id') end
$$;

create function stripe_fdw._cell_bool(col text, v jsonb) returns jsonb
language sql volatile parallel safe
as $$
    select case when pg_catalog.jsonb_typeof(v) operator(pg_catalog.=) 'boolean' then v
                when v is null or pg_catalog.jsonb_typeof(v) operator(pg_catalog.=) 'null' then null
                else stripe_fdw._object_bad_value(col, 'boolean', v) end
$$;

-- bigint: a whole number in bigint's range, written without a fraction (serde's i64).
create function stripe_fdw._cell_int8(col text, v jsonb) returns jsonb
language sql volatile parallel safe
as $$
    select case when v is null or pg_catalog.jsonb_typeof(v) operator(pg_catalog.=) 'null' then null
                when pg_catalog.jsonb_typeof(v) operator(pg_catalog.<>) 'number'
                     then stripe_fdw._object_bad_value(col, 'bigint', v)
                when pg_catalog.scale(v::pg_catalog.numeric) operator(pg_catalog.=) 0
                     and v::pg_catalog.numeric operator(pg_catalog.>=) -9223372036854775808
                     and v::pg_catalog.numeric operator(pg_catalog.<=) 9223372036854775807 then v
                else stripe_fdw._object_bad_value(col, 'bigint', v) end
$$;

-- numeric: a number, or a decimal string (-?digits, and .digits).
create function stripe_fdw._cell_numeric(col text, v jsonb) returns jsonb
language sql volatile parallel safe
as $$
    select case when pg_catalog.jsonb_typeof(v) operator(pg_catalog.=) 'number' then v
                when v is null or pg_catalog.jsonb_typeof(v) operator(pg_catalog.=) 'null' then null
                when pg_catalog.jsonb_typeof(v) operator(pg_catalog.=) 'string'
                     and (v operator(pg_catalog.#>>) '{}'::pg_catalog.text[])
                         operator(pg_catalog.~) '^-?[0-9]+([.][0-9]+)?$'
                     then pg_catalog.to_jsonb((v operator(pg_catalog.#>>) '{}'::pg_catalog.text[])::pg_catalog.numeric)
                else stripe_fdw._object_bad_value(col, 'numeric', v) end
$$;

-- timestamptz: Unix seconds (a bigint), as a timestamp, exact to the second (to_timestamp(float8)
-- is not, past 2255): whole days, then the seconds of the last one, from 1970-01-01 UTC. Out of
-- the range the foreign table converts: its error.
create function stripe_fdw._cell_timestamptz(col text, v jsonb) returns jsonb
language sql volatile parallel safe
as $$
    select case when v is null or pg_catalog.jsonb_typeof(v) operator(pg_catalog.=) 'null' then null
                when pg_catalog.jsonb_typeof(v) operator(pg_catalog.<>) 'number'
                     then stripe_fdw._object_bad_value(col, 'timestamp with time zone', v)
                when pg_catalog.scale(v::pg_catalog.numeric) operator(pg_catalog.<>) 0
                     then stripe_fdw._object_bad_value(col, 'timestamp with time zone', v)
                when v::pg_catalog.numeric operator(pg_catalog.>=) {{FIRST_SECOND}}
                     and v::pg_catalog.numeric operator(pg_catalog.<=) {{LAST_SECOND}}
                     then pg_catalog.to_jsonb(pg_catalog.timezone('UTC',
                         '1970-01-01'::pg_catalog.timestamp operator(pg_catalog.+) pg_catalog.make_interval(
                             days => (v::pg_catalog.int8 operator(pg_catalog./) 86400)::pg_catalog.int4,
                             secs => (v::pg_catalog.int8 operator(pg_catalog.%) 86400)::pg_catalog.float8)))
                -- A bigint out of that range, or no bigint at all.
                when v::pg_catalog.numeric operator(pg_catalog.>=) -9223372036854775808
                     and v::pg_catalog.numeric operator(pg_catalog.<=) 9223372036854775807
                     then stripe_fdw._object_bad_value(col, 'timestamp with time zone', v, 'range')
                else stripe_fdw._object_bad_value(col, 'timestamp with time zone', v)
           end
$$;

-- The error of the first element of a text[] column's array that is neither a string nor null.
create function stripe_fdw._object_bad_element(col text, v jsonb) returns jsonb
language sql volatile parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select stripe_fdw._object_bad_value(col, 'text[]', e.e)
      from pg_catalog.jsonb_array_elements(v) with ordinality as e(e, n)
     where pg_catalog.jsonb_typeof(e.e) not in ('string', 'null')
     order by e.n
     limit 1
$$;

-- text[]: an array of strings and nulls.
create function stripe_fdw._cell_text_array(col text, v jsonb) returns jsonb
language sql volatile parallel safe
as $$
    select case when v is null or pg_catalog.jsonb_typeof(v) operator(pg_catalog.=) 'null' then null
                when pg_catalog.jsonb_typeof(v) operator(pg_catalog.<>) 'array'
                     then stripe_fdw._object_bad_value(col, 'text[]', v)
                when v operator(pg_catalog.@?) '$[*] ? (@.type() != "string" && @.type() != "null")'::pg_catalog.jsonpath
                     then stripe_fdw._object_bad_element(col, v)
                else v end
$$;

-- Ordinary tables for Stripe objects, made in `schema` (created when missing) for the role that
-- calls it: one per object, named and typed as the foreign table IMPORT FOREIGN SCHEMA makes of
-- it, with id its primary key. What the SQL-only build keeps equal to Stripe (a sync's source).
-- A table of that name made before is kept when it has those columns with those types. An
-- unknown object, or one without an id (the balance), is refused (22023) and nothing is made.
-- Returns the tables, in the order of `objects`.
create function stripe_fdw.create_object_tables(
    schema text default 'stripe',
    objects text[] default array['products', 'prices', 'customers', 'subscriptions'])
returns setof regclass
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    wanted text[];
    unknown text[];
    keyless text[];
    t record;
    rel regclass;
    cols text;
    differs text;
begin
    if create_object_tables.schema is null or create_object_tables.schema = '' then
        raise exception 'stripe_fdw: schema must be a schema name'
            using errcode = '22023';
    end if;
    -- Each object once, where it is first named.
    select pg_catalog.array_agg(u.o order by u.n) filter (where u.first)
      into wanted
      from (select x.o, x.n, x.n = min(x.n) over (partition by x.o) as first
              from pg_catalog.unnest(create_object_tables.objects) with ordinality as x(o, n)) u;
    if wanted is null then
        raise exception 'stripe_fdw: objects is empty: no table to create'
            using errcode = '22023',
                  hint = 'Name the Stripe objects, e.g. array[''products'', ''prices''].';
    end if;
    select pg_catalog.array_agg(coalesce(pg_catalog.format('"%s"', w.o), 'null') order by w.n)
      into unknown
      from pg_catalog.unnest(wanted) with ordinality as w(o, n)
     where w.o is null or not w.o = any(stripe_fdw._object_names());
    if unknown is not null then
        raise exception 'stripe_fdw: not a Stripe object stripe_fdw knows: %',
                        pg_catalog.array_to_string(unknown, ', ')
            using errcode = '22023',
                  detail = 'objects: ' || pg_catalog.array_to_string(stripe_fdw._object_names(), ', '),
                  hint = 'objects takes the foreign tables'' object option (checkout/sessions), not their names (checkout_sessions).';
    end if;
    select pg_catalog.array_agg(w.o order by w.n)
      into keyless
      from pg_catalog.unnest(wanted) with ordinality as w(o, n)
     where not exists (select 1 from stripe_fdw._object_columns() c where c.object = w.o and c.col = 'id');
    if keyless is not null then
        raise exception 'stripe_fdw: Stripe object % has no id: a table of it has no primary key',
                        pg_catalog.array_to_string(keyless, ', ')
            using errcode = '22023',
                  hint = 'Leave it out of objects.';
    end if;

    if not exists (select 1 from pg_catalog.pg_namespace n where n.nspname = create_object_tables.schema) then
        execute pg_catalog.format('create schema %I', create_object_tables.schema);
    end if;
    for t in
        select k.object, k.table_name
          from pg_catalog.unnest(wanted) with ordinality as w(o, n)
          join stripe_fdw._object_kinds() k on k.object = w.o
         order by w.n
    loop
        rel := pg_catalog.to_regclass(pg_catalog.format('%I.%I', create_object_tables.schema, t.table_name));
        if rel is null then
            select pg_catalog.string_agg(pg_catalog.format('%I %s', c.col, c.typ), ', ' order by c.ord)
              into cols
              from stripe_fdw._object_columns() c
             where c.object = t.object;
            execute pg_catalog.format('create table %I.%I (%s, primary key (id))',
                                      create_object_tables.schema, t.table_name, cols);
            -- Customers and subscriptions are personal data: no policy, so a role granted the
            -- table (Supabase's default privileges in public grant anon) still reads no row. Its
            -- owner, who keeps it, is not bound (no FORCE).
            execute pg_catalog.format('alter table %I.%I enable row level security',
                                      create_object_tables.schema, t.table_name);
            rel := pg_catalog.to_regclass(pg_catalog.format('%I.%I', create_object_tables.schema, t.table_name));
        else
            select pg_catalog.string_agg(pg_catalog.format('%I %s', c.col, c.typ), ', ' order by c.ord)
              into differs
              from stripe_fdw._object_columns() c
             where c.object = t.object
               and not exists (select 1 from pg_catalog.pg_attribute a
                                where a.attrelid = rel and a.attnum > 0 and not a.attisdropped
                                  and a.attname = c.col
                                  and pg_catalog.format_type(a.atttypid, a.atttypmod) = c.typ);
            if differs is not null
               or (select c.relkind from pg_catalog.pg_class c where c.oid = rel) not in ('r', 'p') then
                raise exception 'stripe_fdw: % exists and is not a table of Stripe object %', rel, t.object
                    using errcode = '42P07',
                          detail = case when differs is not null then 'It lacks the column(s) ' || differs || '.' end,
                          hint = 'Drop or rename it, or pass another schema.';
            end if;
        end if;
        return next rel;
    end loop;
end
$$;
