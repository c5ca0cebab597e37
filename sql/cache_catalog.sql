-- stripe_fdw cache, the storefront view <cache schema>.catalog, made by create_cache() when the
-- schema caches both products and prices. It works whatever subset of columns the foreign tables
-- declare (Supabase Wrappers' DDL has no images, metadata, marketing_features, ...): each field
-- comes from its column when the table has it, else from attrs when the table has that, else the
-- field is left out.

-- An expression for the Stripe field at path of alias (a row of rel): column col when rel has it,
-- else attrs #> path as kind ('text', 'jsonb', 'bool', 'int8', 'text[]') when rel has attrs,
-- else null (the caller leaves the field out).
create function stripe_fdw._field(rel regclass, alias text, col text, path text[], kind text)
returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select case
        when stripe_fdw._has_column(rel, col) then alias || '.' || pg_catalog.quote_ident(col)
        when stripe_fdw._has_column(rel, 'attrs') then
            case kind
                when 'jsonb' then pg_catalog.format('(%s.attrs::jsonb #> %L)', alias, path)
                when 'text' then pg_catalog.format('(%s.attrs::jsonb #>> %L)', alias, path)
                when 'bool' then pg_catalog.format('(%s.attrs::jsonb #>> %L)::boolean', alias, path)
                when 'int8' then pg_catalog.format('(%s.attrs::jsonb #>> %L)::bigint', alias, path)
                when 'text[]' then pg_catalog.format(
                    'array(select pg_catalog.jsonb_array_elements_text(%s.attrs::jsonb #> %L))', alias, path)
            end
    end
$$;

-- The materialized view caching Stripe object obj in cache_schema (null when none).
create function stripe_fdw._cache_of(cache_schema text, obj text) returns regclass
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select r.cache_relation from stripe_fdw.cache_registry r
     where r.cache_schema = $1 and r.source_object = $2
     order by r.cache_name = $2 desc, r.cache_name
     limit 1
$$;

create function stripe_fdw._create_catalog(cache_schema text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    ps     regclass := stripe_fdw._cache_of(cache_schema, 'products');
    xs     regclass := stripe_fdw._cache_of(cache_schema, 'prices');
    have   regclass := pg_catalog.to_regclass(pg_catalog.format('%I.catalog', cache_schema));
    pid    text;
    meta   text;
    e      text;
    f      record;
    cols   text := '';
    pairs  text := '';
    xid    text;
    xprod  text;
    xact   text;
    xamt   text;
    pact   text;
    orders text := 'sort_index nulls last';
begin
    if ps is null or xs is null then
        return;
    end if;
    pid := stripe_fdw._field(ps, 'p', 'id', '{id}', 'text');
    if pid is null then
        raise notice 'stripe_fdw: no %.catalog: the products table has neither an id nor an attrs column', cache_schema;
        return;
    end if;
    if have is not null and not exists (
           select 1 from pg_catalog.pg_class c join pg_catalog.pg_roles r on r.oid = c.relowner
            where c.oid = have and c.relkind = 'v' and r.rolname = current_user) then
        perform stripe_fdw._own_relation(have, null, 'the catalog view');
    end if;
    cols := pid || ' as id';
    for f in select * from (values ('name', '{name}', 'text'), ('description', '{description}', 'text'),
                                   ('images', '{images}', 'text[]'), ('metadata', '{metadata}', 'jsonb'),
                                   ('marketing_features', '{marketing_features}', 'jsonb'),
                                   ('default_price', '{default_price}', 'text')) v(col, path, kind)
    loop
        e := stripe_fdw._field(ps, 'p', f.col, f.path::text[], f.kind);
        if e is not null then
            cols := cols || ', ' || e || ' as ' || pg_catalog.quote_ident(f.col);
            if f.col = 'name' then
                orders := orders || ', name';
            end if;
        end if;
    end loop;
    orders := orders || ', id';
    -- metadata.index as a number; missing or non-numeric: null (sorts last).
    meta := stripe_fdw._field(ps, 'p', 'metadata', '{metadata}', 'jsonb');
    cols := cols || ', ' || case when meta is null then 'null::bigint'
        else pg_catalog.format('case when %1$s ->> ''index'' ~ ''^\s*-?[0-9]{1,18}\s*$'' then (%1$s ->> ''index'')::bigint end', meta)
        end || ' as sort_index';
    -- Each product's active prices, a jsonb array ordered by unit_amount.
    xid := stripe_fdw._field(xs, 'x', 'id', '{id}', 'text');
    xprod := stripe_fdw._field(xs, 'x', 'product', '{product}', 'text');
    if xprod is not null then
        for f in select * from (values ('id', 'id', '{id}', 'text'), ('currency', 'currency', '{currency}', 'text'),
                                       ('unit_amount', 'unit_amount', '{unit_amount}', 'int8'),
                                       ('type', 'type', '{type}', 'text'),
                                       ('interval', 'recurring_interval', '{recurring,interval}', 'text'),
                                       ('interval_count', 'recurring_interval_count', '{recurring,interval_count}', 'int8'),
                                       ('trial_period_days', 'trial_period_days', '{recurring,trial_period_days}', 'int8'),
                                       ('lookup_key', 'lookup_key', '{lookup_key}', 'text'),
                                       ('nickname', 'nickname', '{nickname}', 'text'),
                                       ('metadata', 'metadata', '{metadata}', 'jsonb')) v(k, col, path, kind)
        loop
            e := stripe_fdw._field(xs, 'x', f.col, f.path::text[], f.kind);
            if e is not null then
                pairs := pairs || case when pairs = '' then '' else ', ' end || pg_catalog.quote_literal(f.k) || ', ' || e;
            end if;
        end loop;
        xamt := stripe_fdw._field(xs, 'x', 'unit_amount', '{unit_amount}', 'int8');
        xact := stripe_fdw._field(xs, 'x', 'active', '{active}', 'bool');
        cols := cols || pg_catalog.format(
            ', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(%s) order by %s) from %s x where %s = %s%s), ''[]''::jsonb) as prices',
            pairs, coalesce(nullif(concat_ws(', ', xamt || ' nulls last', xid), ''), '1'), xs, xprod, pid,
            case when xact is null then '' else ' and ' || xact end);
    end if;
    pact := stripe_fdw._field(ps, 'p', 'active', '{active}', 'bool');
    execute pg_catalog.format(
        'create or replace view %I.catalog as select %s from %s p%s order by %s',
        cache_schema, cols, ps, case when pact is null then '' else ' where ' || pact end, orders);
    execute pg_catalog.format('comment on view %I.catalog is %L', cache_schema,
        'stripe_fdw: active products with their active prices (made by stripe_fdw.create_cache(); read it, do not edit it)');
end
$$;
