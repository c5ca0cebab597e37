-- stripe_fdw sync, part two: the one mechanism behind sync(), sync_drift() and (issue 12) the
-- webhook handler and catch_up(): read Stripe's rows for a set of ids (or all), mapped into each
-- target's columns, diff against the target, and apply only the difference.
-- Needs sql/sync.sql.

-- One target of a sync, staged: the temporary table holding the values the target should hold
-- (map), and the SQL pieces the writers use.
create type stripe_fdw._sync_step as (
    target  regclass,
    src     text,      -- temp table: the source's rows, made only to name a value that does not fit
    map     text,      -- temp table: mapped values, one column per synced target column
    key_col text,      -- the target's key column (the Stripe id)
    key_typ text,      -- its type
    cols    text,      -- the synced columns, quoted, comma-separated
    sets    text,      -- col = s.col, ... for the non-key columns ('' when there are none)
    differ  text,      -- true when a target row t differs from its mapped row s
    depth   int        -- foreign-key depth among the targets staged together (parents first)
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

-- Stage p_targets: read Stripe's rows of each one's source (the ids p_ids, or all when null),
-- mapped into the target's columns (only the source columns the mapping uses are read). Temporary
-- tables, dropped by _sync_unstage (and at commit in any case).
create function stripe_fdw._sync_stage(p_targets regclass[], p_ids text[])
returns setof stripe_fdw._sync_step
language plpgsql
set search_path = pg_catalog, pg_temp
set timezone to 'UTC'
as $$
declare
    g     record;
    step  stripe_fdw._sync_step;
    cols  jsonb;
    sel   text;
    st    text;
    msg   text;
    det   text;
    hnt   text;
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
        select t.target, t.source, t.columns, t.source_name,
               (select max(d.depth) from d where d.rel = t.target::oid) as depth
          from stripe_fdw._sync_targets() t
         where t.target = any(p_targets)
         order by 5, t.target::text
    loop
        if g.source is null then
            raise exception 'stripe_fdw: the source % of sync target % no longer exists', g.source_name, g.target
                using errcode = '42P01',
                      hint = 'Import it again (import foreign schema ...), or register the target again with stripe_fdw.create_sync().';
        end if;
        select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c)) into cols
          from stripe_fdw._sync_columns(g.target, g.source, g.columns) c;
        step.target := g.target;
        step.depth := g.depth;
        step.src := 'stripe_fdw_sync_src_' || g.source::oid::text;
        step.map := 'stripe_fdw_sync_map_' || g.target::oid::text;
        select string_agg(format('(%s)::%s as %I', c ->> 'expr', c ->> 'typ', c ->> 'col'), ', '),
               string_agg(pg_catalog.quote_ident(c ->> 'col'), ', '),
               coalesce(string_agg(format('%1$I = s.%1$I', c ->> 'col'), ', ') filter (where not (c ->> 'is_key')::bool), ''),
               coalesce(string_agg(format('t.%1$I%2$s is distinct from (s.%1$I)::%3$s%2$s', c ->> 'col', c ->> 'cmp', c ->> 'full_typ'), ' or ')
                            filter (where not (c ->> 'is_key')::bool), 'false'),
               min(c ->> 'col') filter (where (c ->> 'is_key')::bool),
               min(c ->> 'full_typ') filter (where (c ->> 'is_key')::bool)
          into sel, step.cols, step.sets, step.differ, step.key_col, step.key_typ
          from pg_catalog.jsonb_array_elements(cols) c;
        perform stripe_fdw._sync_drop(step.map);
        -- Stripe is read here, only the columns the mapping uses (the planner passes them down).
        execute format('create temp table %I on commit drop as select %s from %s s with no data', step.map, sel, g.source);
        begin
            execute format('insert into pg_temp.%I select %s from %s s %s', step.map, sel, g.source,
                           case when p_ids is null then '' else 'where s.id = any($1)' end)
                using p_ids;
        exception when others then
            get stacked diagnostics st = returned_sqlstate, msg = message_text, det = pg_exception_detail, hnt = pg_exception_hint;
            if st not like '22%' and st not like '23%' then
                perform stripe_fdw._reraise(st, msg, det, hnt);  -- Stripe's error, as it was
            end if;
            -- A value that does not fit: read the rows again to name it.
            perform stripe_fdw._sync_drop(step.src);
            execute format('create temp table %I (like %s) on commit drop', step.src, g.source);
            execute format('insert into pg_temp.%I select * from %s s %s', step.src, g.source,
                           case when p_ids is null then '' else 'where s.id = any($1)' end)
                using p_ids;
            perform stripe_fdw._sync_bad_value(g.target, step.src, cols, st, msg, det, hnt);
        end;
        execute format('create unique index on pg_temp.%I (%I)', step.map, step.key_col);
        execute format('analyze pg_temp.%I', step.map);
        return next step;
    end loop;
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

-- Bring p_targets to what Stripe holds for the ids p_ids (all when null) in the current
-- transaction: update the rows whose mapped values differ and insert the new ones (parents
-- first), then delete the rows whose id Stripe no longer has (children first). A row that did not
-- change is not written. Any error leaves the caller's transaction to roll back: the message says
-- which target and what was being done, PostgreSQL's detail names the row and the constraint.
create function stripe_fdw._sync_apply(p_targets regclass[], p_ids text[] default null)
returns table (target regclass, inserted bigint, updated bigint, deleted bigint)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    steps stripe_fdw._sync_step[];
    s     stripe_fdw._sync_step;
    i     int;
    n     bigint;
    ins   bigint[] := '{}';
    upd   bigint[] := '{}';
    del   bigint[] := '{}';
    doing text;
    st    text;
    msg   text;
    det   text;
    hnt   text;
begin
    steps := array(select x from stripe_fdw._sync_stage(p_targets, p_ids) x);
    begin
        foreach s in array steps loop
            doing := format('locking %s', s.target);
            execute format('lock table %s in share row exclusive mode', s.target);
        end loop;
        for i in 1 .. coalesce(pg_catalog.array_length(steps, 1), 0) loop
            s := steps[i];
            n := 0;
            if s.sets <> '' then
                doing := format('updating %s', s.target);
                execute format('update %s t set %s from pg_temp.%I s where t.%I = s.%I and (%s)',
                               s.target, s.sets, s.map, s.key_col, s.key_col, s.differ);
                get diagnostics n = row_count;
            end if;
            upd := upd || n;
            doing := format('inserting into %s', s.target);
            execute format('insert into %s (%s) select %s from pg_temp.%I s where not exists (select from %s t where t.%I = s.%I)',
                           s.target, s.cols, s.cols, s.map, s.target, s.key_col, s.key_col);
            get diagnostics n = row_count;
            ins := ins || n;
        end loop;
        del := pg_catalog.array_fill(0::bigint, array[coalesce(pg_catalog.array_length(steps, 1), 0)]);
        for i in reverse coalesce(pg_catalog.array_length(steps, 1), 0) .. 1 loop
            s := steps[i];
            doing := format('deleting from %s the rows Stripe no longer has', s.target);
            execute format('delete from %s t where %s not exists (select from pg_temp.%I s where s.%I = t.%I)',
                           s.target,
                           case when p_ids is null then ''
                                else format('t.%I = any($1::%s[]) and', s.key_col, s.key_typ) end,
                           s.map, s.key_col, s.key_col)
                using p_ids;
            get diagnostics n = row_count;
            del[i] := n;
        end loop;
    exception when others then
        get stacked diagnostics st = returned_sqlstate, msg = message_text, det = pg_exception_detail, hnt = pg_exception_hint;
        if st = '23503' and doing like 'deleting%' then
            hnt := concat_ws(E'\n', nullif(hnt, ''),
                'Nothing was applied. A row of your own still references a row Stripe deleted: delete or change it, '
                || 'or make that foreign key ON DELETE CASCADE or SET NULL, then sync again.');
        elsif st = '23503' then
            hnt := concat_ws(E'\n', nullif(hnt, ''),
                'Nothing was applied. The referenced row is not in its table: sync both tables in one call '
                || '(CALL stripe_fdw.sync() with no argument applies every target in foreign-key order), '
                || 'or register the referenced table with stripe_fdw.create_sync().');
        else
            hnt := concat_ws(E'\n', nullif(hnt, ''), 'Nothing was applied.');
        end if;
        perform stripe_fdw._reraise(st, format('stripe_fdw: sync failed while %s: %s', doing, msg), det, hnt);
    end;
    perform stripe_fdw._sync_unstage(steps);
    for i in 1 .. coalesce(pg_catalog.array_length(steps, 1), 0) loop
        target := steps[i].target;
        inserted := ins[i];
        updated := upd[i];
        deleted := del[i];
        return next;
    end loop;
end
$$;

-- For issue 12 (webhooks, catch_up): bring every sync target of p_source to what Stripe holds
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
