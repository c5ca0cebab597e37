-- stripe_fdw sync, part two: the one mechanism that keeps a local table equal to Stripe, behind
-- sync(), sync_drift(), the webhook handler, catch_up(), and cache_drift(): read Stripe's rows for a set of ids (or all) into a staging table, diff it
-- against the local table by key (IS DISTINCT FROM, column by column), and apply only the
-- difference in the caller's transaction (parents first, deletes children first). Two doors stage:
-- _sync_stage (registered targets, mapped by their columns) and _sync_copy_stage (a cache, the
-- materialized view of its source, compared by cache_drift()); _sync_write applies, _sync_diff shows.
-- Needs sql/sync.sql and sql/cache.sql (_key_expr).

-- One read of one target, staged: the temporary table holding the values the target should hold
-- for the ids read (map), when Stripe was read (read_from .. read_to, ticks of read_clock taken
-- just before the first request and just after the last answer), and the SQL pieces the writers
-- use. See sql/sync_stamps.sql for how the read's ticks decide what it may replace.
create type stripe_fdw._sync_step as (
    target    regclass,
    source    regclass,
    spec      jsonb,   -- the columns (rows of _sync_columns as JSON): how to read the same ids again
    diagnose  bool,    -- name the value when one does not fit (a mapping) or not (a cache's copy)
    src       text,    -- temp table: the source's rows, made only to name a value that does not fit
    map       text,    -- temp table: mapped values, one column per synced target column
    key_col   text,    -- the column holding the key (the Stripe id); null: no key, rows replaced whole
    key_field text,    -- null, or the field of key_col (a JSON column) that is the key: attrs ->> 'id'
    key_typ   text,    -- the key's type
    cols      text,    -- the synced columns, quoted, comma-separated
    scols     text,    -- the same, each prefixed with s.
    sets      text,    -- col = s.col, ... for the non-key columns ('' when there are none)
    differ    text,    -- true when a target row t differs from its mapped row s
    depth     int,     -- foreign-key depth among the targets staged together (parents first)
    staged    bigint,  -- the rows staged: what the target holds (for those ids) once applied
    ids       text[],  -- the ids read; null: all of them (a full read)
    read_from bigint,  -- read_clock before the read
    read_to   bigint,  -- read_clock after it
    cond      text,    -- the registration's source_filter: a row it does not hold for is not
                       -- staged, as if Stripe had not got it (null: every row)
    fed       text     -- null: read from the source relation (a foreign table), which can be read
                       -- again; else the Stripe object whose JSON was handed over (sql/json_apply.sql):
                       -- ids to read again go back to whoever read it
);

-- Drop a staging table of this session, if it is there (no NOTICE when it is not).
create function stripe_fdw._sync_drop(p_name text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.to_regclass('pg_temp.' || pg_catalog.quote_ident(p_name)) is not null then
        execute format('drop table pg_temp.%I', p_name);
    end if;
end
$$;

-- Find the value that made mapping fail, and raise an error naming the Stripe id, the column and
-- the value. Called only after the bulk mapping failed; re-raises the original when no single
-- value is to blame.
create function stripe_fdw._sync_bad_value(p_target regclass, p_src text, p_cols jsonb,
                                           st text, msg text, det text, hnt text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
set timezone to 'UTC'
as $$
declare
    c   record;
    x   record;
    val text;
    est text;
    emsg text;
begin
    for c in select j.value ->> 'col' as col, j.value ->> 'expr' as expr, j.value ->> 'typ' as typ
               from pg_catalog.jsonb_array_elements(p_cols) j loop
        begin
            execute format('select pg_catalog.count((%s)::%s) from pg_temp.%I s', c.expr, c.typ, p_src);
            continue;
        exception when others then
            null;  -- this column: find the row
        end;
        for x in execute format('select s.id::text as id from pg_temp.%I s order by 1', p_src) loop
            begin
                execute format('select (%s)::%s from pg_temp.%I s where s.id = $1', c.expr, c.typ, p_src) using x.id;
            exception when others then
                get stacked diagnostics est = returned_sqlstate, emsg = message_text;
                begin
                    execute format('select (%s)::text from pg_temp.%I s where s.id = $1', c.expr, p_src) into val using x.id;
                    val := coalesce(pg_catalog.quote_literal(val), 'NULL');
                exception when others then
                    val := '(the expression itself fails)';
                end;
                raise exception 'stripe_fdw: cannot sync Stripe id % into %: %', x.id, p_target, emsg
                    using errcode = est,
                          detail = format('column %I = %s, which is %s', c.col, c.expr, val),
                          hint = 'Nothing was applied. Change the column''s type or its expression in stripe_fdw.create_sync() so that every value Stripe has fits.';
            end;
        end loop;
    end loop;
    perform stripe_fdw._reraise(st, msg, det, hnt);
end
$$;

-- Stage one target: read p_source's rows (the ids p_ids, or all when null) mapped by p_cols (rows
-- of _sync_columns, as JSON) into a temporary table keyed by p_key_col / p_key_field, and stamp
-- the read with read_clock ticks taken around it. Only the source columns the mapping uses are
-- read. Or, when p_objects is given, the rows are Stripe's JSON objects of p_object read elsewhere
-- between ticks p_read_from and p_read_to (null: now) (sql/json_apply.sql), each made a row of
-- p_source's type as the foreign table would give it (_object_row): the same mapping and stamps. p_diagnose: when a value does not fit, read the rows again to name it (a mapping can fail
-- so; a copy cannot, and raises the error as it is). p_cond: the registration's source_filter.
-- Takes no lock on the target.
create function stripe_fdw._sync_stage_one(p_target regclass, p_source regclass, p_cols jsonb,
                                           p_key_col text, p_key_field text, p_ids text[],
                                           p_depth int, p_diagnose bool, p_cond text default null,
                                           p_objects jsonb default null, p_object text default null,
                                           p_read_from bigint default null, p_read_to bigint default null)
returns stripe_fdw._sync_step
language plpgsql
set search_path = pg_catalog, pg_temp
set timezone to 'UTC'
as $$
declare
    step stripe_fdw._sync_step;
    sel  text;
    filt text;
    rows text;     -- what the rows are read from (alias s)
    name_tick bigint;
    none text;     -- the same, empty (to make the staging table)
    n    bigint;
    st   text;
    msg  text;
    det  text;
    hnt  text;
begin
    step.target := p_target;
    step.source := p_source;
    step.spec := p_cols;
    step.diagnose := p_diagnose;
    step.depth := p_depth;
    step.key_col := p_key_col;
    step.key_field := p_key_field;
    step.ids := p_ids;
    step.cond := p_cond;
    step.fed := case when p_objects is not null then p_object end;
    step.read_from := coalesce(case when p_objects is not null then p_read_from end, stripe_fdw._read_tick());
    -- Named by a tick of its own, so a read again of some ids (sql/sync_write.sql), or a read
    -- handed over again after a read_again (its ticks are the same), stages beside the first.
    name_tick := case when p_objects is null then step.read_from else stripe_fdw._read_tick() end;
    step.src := 'stripe_fdw_sync_src_' || p_source::oid::text || '_' || name_tick::text;
    step.map := 'stripe_fdw_sync_map_' || p_target::oid::text || '_' || name_tick::text;
    select string_agg(format('(%s)::%s as %I', c ->> 'expr', c ->> 'typ', c ->> 'col'), ', '),
           string_agg(pg_catalog.quote_ident(c ->> 'col'), ', '),
           string_agg('s.' || pg_catalog.quote_ident(c ->> 'col'), ', '),
           coalesce(string_agg(format('%1$I = s.%1$I', c ->> 'col'), ', ') filter (where not (c ->> 'is_key')::bool), ''),
           coalesce(string_agg(format('t.%1$I%2$s is distinct from (s.%1$I)::%3$s%2$s', c ->> 'col', c ->> 'cmp', c ->> 'full_typ'), ' or ')
                        filter (where not (c ->> 'is_key')::bool), 'false'),
           case when p_key_field is not null then 'pg_catalog.text'
                else min(c ->> 'full_typ') filter (where c ->> 'col' = p_key_col) end
      into sel, step.cols, step.scols, step.sets, step.differ, step.key_typ
      from pg_catalog.jsonb_array_elements(p_cols) c;
    -- The ids are Stripe's: the source's id, or the field of a JSON column (a cache keyed so).
    filt := case when p_ids is null then 'where true'
                 when p_key_field is not null then format('where %s operator(pg_catalog.=) any($1)', stripe_fdw._key_expr(p_key_col, p_key_field, 's'))
                 else 'where s.id operator(pg_catalog.=) any($1)' end
            || case when p_cond is null then '' else format(' and coalesce((%s)::pg_catalog.bool, false)', p_cond) end;
    if p_objects is null and p_ids is not null and stripe_fdw._is_wrappers_table(p_source) then
        -- Supabase Wrappers pushes down only a lone `id = '...'` (no other condition beside it):
        -- one retrieve per id, each scan with its own constant, fenced by OFFSET 0 so that the
        -- staging's own conditions stay outside (an `= any` would list every object).
        rows := coalesce('(' || (select pg_catalog.string_agg(format('select * from (select * from %s x where x.id operator(pg_catalog.=) %L offset 0) y', p_source, i), ' union all ')
                                   from pg_catalog.unnest(p_ids) i) || ')',
                         format('(select * from %s x where false)', p_source));
        none := p_source::text;
    elsif p_objects is null then
        rows := p_source::text;
        none := rows;
    else
        rows := format('(select r.* from pg_catalog.jsonb_array_elements($2) o
                          cross join lateral pg_catalog.jsonb_populate_record(null::%s, stripe_fdw._object_row(%L, o.value)) r)',
                       p_source, p_object);
        none := format('(select (pg_catalog.jsonb_populate_record(null::%s, null)).*)', p_source);
    end if;
    -- Stripe is read here, only the columns the mapping uses (the planner passes them down).
    execute format('create temp table %I on commit drop as select %s from %s s with no data', step.map, sel, none);
    begin
        execute format('insert into pg_temp.%I select %s from %s s %s', step.map, sel, rows, filt)
            using p_ids, p_objects;
        get diagnostics n = row_count;
    exception when others then
        get stacked diagnostics st = returned_sqlstate, msg = message_text, det = pg_exception_detail, hnt = pg_exception_hint;
        if not p_diagnose or (st not like '21%' and st not like '22%' and st not like '23%') then
            raise;  -- Stripe's error, as it was
        end if;
        -- A value that does not fit: read the rows again to name it.
        execute format('create temp table %I (like %s) on commit drop', step.src, p_source);
        execute format('insert into pg_temp.%I select * from %s s %s', step.src, rows, filt)
            using p_ids, p_objects;
        perform stripe_fdw._sync_bad_value(p_target, step.src, p_cols, st, msg, det, hnt);
    end;
    step.read_to := coalesce(case when p_objects is not null then p_read_to end, stripe_fdw._read_tick());
    step.staged := n;
    if p_key_col is not null then
        execute format('create unique index on pg_temp.%I (%s)', step.map, stripe_fdw._key_expr(p_key_col, p_key_field));
    end if;
    execute format('analyze pg_temp.%I', step.map);
    return step;
end
$$;

-- The registered targets' door: stage p_targets (sync_registry), each mapped by its columns
-- (_sync_columns checks the mapping first), read from their sources, or from p_objects (Stripe's
-- JSON of p_object, read elsewhere between ticks p_read_from and p_read_to). Read children first (prices before products): Stripe
-- refuses to delete a product that has prices, so every product a price read names is still
-- there when the products are read after it, and the write (parents first) finds it. Returned
-- parents first. Temporary tables, dropped by _sync_unstage (and at commit in any case).
create function stripe_fdw._sync_stage(p_targets regclass[], p_ids text[], p_objects jsonb default null,
                                       p_object text default null, p_read_from bigint default null,
                                       p_read_to bigint default null)
returns setof stripe_fdw._sync_step
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    g     record;
    cols  jsonb;
    kc    text;
    i     int;
    steps stripe_fdw._sync_step[] := '{}';
    objs  jsonb;
    obj   text;
    rfrom bigint;
    rto   bigint;
begin
    for g in
        with recursive fk as (
            select distinct c.conrelid as child, c.confrelid as parent
              from pg_catalog.pg_constraint c
             where c.contype = 'f' and c.conrelid <> c.confrelid
               and c.conrelid = any(p_targets::oid[]) and c.confrelid = any(p_targets::oid[])),
        d (rel, depth) as (
            select u.rel::oid, 0 from pg_catalog.unnest(p_targets) u(rel)
            union all
            select fk.child, d.depth + 1 from d join fk on fk.parent = d.rel
             where d.depth < pg_catalog.cardinality(p_targets))
        select t.target, t.source, t.columns, t.source_name, t.source_filter,
               (select max(d.depth) from d where d.rel = t.target::oid) as depth
          from stripe_fdw._sync_targets() t
         where t.target = any(p_targets)
         order by 6 desc, t.target::text desc
    loop
        if g.source is null then
            raise exception 'stripe_fdw: the source % of sync target % no longer exists', g.source_name, g.target
                using errcode = '42P01',
                      hint = 'Import it again (import foreign schema ...), or register the target again with stripe_fdw.create_sync().';
        end if;
        select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c)) into cols
          from stripe_fdw._sync_columns(g.target, g.source, g.columns) c;
        select c ->> 'col' into kc from pg_catalog.jsonb_array_elements(cols) c where (c ->> 'is_key')::bool;
        objs := p_objects;
        obj := p_object;
        rfrom := p_read_from;
        rto := p_read_to;
        if objs is null and stripe_fdw._is_json_source(g.source) then
            -- Fed as JSON: a full read is the snapshot the worker finished (sql/json_worker.sql);
            -- without one, a source the database can read (Supabase Wrappers' table) is read.
            select x.objects, x.object, x.read_from, x.read_to into objs, obj, rfrom, rto
              from stripe_fdw._snapshot(g.source, p_ids) x;
            if objs is null and not stripe_fdw._readable(g.source) then
                raise exception 'stripe_fdw: % is fed by the stripe-sync Edge Function (account "%"): the database cannot read Stripe for it',
                                g.source, (select i.server from stripe_fdw._source_info(g.source) i)
                    using errcode = '55000',
                          hint = 'Run the function''s worker (POST .../stripe-sync/worker), or select stripe_fdw.request_sync(); and let its schedule run it.';
            end if;
        end if;
        steps := stripe_fdw._sync_stage_one(g.target, g.source, cols, kc, null, p_ids, g.depth, true, g.source_filter,
                                            objs, obj, rfrom, rto) || steps;
    end loop;
    for i in 1 .. coalesce(pg_catalog.cardinality(steps), 0) loop
        return next steps[i];
    end loop;
end
$$;

-- The cache's door: stage p_target, a column-for-column copy of p_source (create_cache made it
-- as a materialized view of it), every column as it is, keyed by p_key_col (its field p_key_field).
create function stripe_fdw._sync_copy_stage(p_target regclass, p_source regclass, p_key_col text, p_key_field text)
returns stripe_fdw._sync_step
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    cols jsonb;
begin
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'col', a.attname::text, 'expr', pg_catalog.quote_ident(a.attname),
               'typ', pg_catalog.format_type(a.atttypid, null),
               'full_typ', pg_catalog.format_type(a.atttypid, a.atttypmod),
               'is_key', coalesce(a.attname::text = p_key_col and p_key_field is null, false),
               'cmp', stripe_fdw._sync_cmp(pg_catalog.format_type(a.atttypid, null))) order by a.attnum)
      into cols
      from pg_catalog.pg_attribute a
     where a.attrelid = p_target and a.attnum > 0 and not a.attisdropped and a.attgenerated = '';
    return stripe_fdw._sync_stage_one(p_target, p_source, cols, p_key_col, p_key_field, null, 0, false);
end
$$;

create function stripe_fdw._sync_unstage(p_steps stripe_fdw._sync_step[]) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    s stripe_fdw._sync_step;
begin
    foreach s in array coalesce(p_steps, '{}') loop
        perform stripe_fdw._sync_drop(s.map);
        perform stripe_fdw._sync_drop(s.src);
    end loop;
end
$$;

-- What _sync_write would change in a staged target (all ids): its key as text, and added (staged,
-- not in the target), removed (in the target, not staged) or changed (both, a column differs).
-- sync_drift() and cache_drift().
-- The columns step s writes that the target declares NOT NULL (the key aside): a staged row with
-- null in one of them cannot be mapped. See _sync_unmapped.
create function stripe_fdw._sync_notnull(s stripe_fdw._sync_step) returns text[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(c ->> 'col'), '{}')
      from pg_catalog.jsonb_array_elements(s.spec) c
      join pg_catalog.pg_attribute a on a.attrelid = s.target and a.attname = c ->> 'col'
     where a.attnotnull and not (c ->> 'is_key')::bool
$$;

-- The condition (over the staged row s) under which a row cannot be mapped; 'false' when the
-- target has no such column.
create function stripe_fdw._sync_unmapped_cond(s stripe_fdw._sync_step) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.string_agg(pg_catalog.format('s.%I is null', c), ' or '), 'false')
      from pg_catalog.unnest(stripe_fdw._sync_notnull(s)) c
$$;

create function stripe_fdw._sync_diff(p_step stripe_fdw._sync_step)
returns table (id text, change text)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    key_s text := stripe_fdw._key_expr(p_step.key_col, p_step.key_field, 's');
    key_t text := stripe_fdw._key_expr(p_step.key_col, p_step.key_field, 't');
    unm   text := stripe_fdw._sync_unmapped_cond(p_step);
begin
    -- unmapped: Stripe has it, and a write would leave it as it is (it cannot be mapped).
    return query execute format($q$
        select coalesce(%1$s, %2$s)::text,
               case when %1$s is not null and (%6$s) then 'unmapped'
                    when %2$s is null then 'added' when %1$s is null then 'removed' else 'changed' end
          from pg_temp.%3$I s
          full join %4$s t on %1$s = %2$s
         where %1$s is null or %2$s is null or (%5$s)
         order by 1
    $q$, key_s, key_t, p_step.map, p_step.target, p_step.differ, unm);
end
$$;
