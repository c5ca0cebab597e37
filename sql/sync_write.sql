-- stripe_fdw sync, the write: bring staged targets (sql/sync_apply.sql) to what was read, under the
-- write lock, id by id only where the read is the newest (sql/sync_stamps.sql), reading again the
-- ids where two reads conflict; then update the rows that differ and insert the new ones (parents
-- first), delete the ones Stripe no longer has (children first), check that every write took
-- effect, and record the reads' stamps. Used by sync(), handle_webhook() and catch_up().
-- Needs sql/sync_apply.sql and sql/sync_stamps.sql.
--
-- Whose search_path: the app's triggers on a target run while our statements write into it, so
-- those statements run under the caller's search_path (what the app's own writes would see), and
-- every name, operator and cast in them is schema-qualified. Everything else runs pinned.

-- Is the detail of a 40001 the engine's own read_again ({"ids", "object"}, or a list of them),
-- not a serialization failure of PostgreSQL's (which must reach the caller as it is)?
create function stripe_fdw._is_read_again(det text) returns bool
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(det like '{"ids": %' or det like '[{"ids": %', false)
$$;

-- A relation's name, schema-qualified and quoted, whatever the search_path.
create function stripe_fdw._qname(rel regclass) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.oid = rel
$$;

-- Pin search_path for the extension's own statements; returns the path to restore. No SET clause
-- (it would undo the pin at return), so every name here is qualified.
create function stripe_fdw._pin() returns text
language plpgsql
as $$
declare
    saved text := pg_catalog.current_setting('search_path');
begin
    perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    return saved;
end
$$;

-- The same for a public entry point (sync, refresh_cache, catch_up, refresh_all, run_scheduled,
-- handle_webhook): also record the caller's search_path, for the app's triggers on the tables the
-- engine writes (_caller_path). Always overwritten here, whatever a session set before (a value
-- set by the caller of a security definer wrapper must never reach the wrapper owner's triggers).
create function stripe_fdw._enter() returns text
language plpgsql
as $$
declare
    saved text := pg_catalog.current_setting('search_path');
begin
    perform pg_catalog.set_config('stripe_fdw_engine.caller_search_path', saved, true);
    perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    return saved;
end
$$;

-- The end of an entry point: give the caller its search_path back (saved by _enter() or _pin()), then raise
-- the error the call handed back, if any. No SET clause (it would undo the restore).
create function stripe_fdw._finish(saved text, st text, msg text, det text, hnt text) returns void
language plpgsql
as $$
begin
    perform pg_catalog.set_config('search_path', saved, true);
    if st is not null then
        perform stripe_fdw._reraise(st, msg, det, hnt);
    end if;
end
$$;

-- The search_path the app's triggers see while the engine writes into its tables.
create function stripe_fdw._caller_path() returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(nullif(pg_catalog.current_setting('stripe_fdw_engine.caller_search_path', true), ''),
                    'pg_catalog, pg_temp')
$$;

-- A write that took effect on fewer rows than it should: name the target and the likely cause
-- (row-level security never gets here: _sync_write refuses a target it applies to).
create function stripe_fdw._sync_refused(p_target regclass, p_verb text, p_done bigint, p_expected bigint)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    trg  text;
    rul  text;
begin
    select string_agg(pg_catalog.quote_ident(t.tgname), ', ') into trg
      from pg_catalog.pg_trigger t
     where t.tgrelid = p_target and not t.tgisinternal and t.tgenabled <> 'D'
       and (t.tgtype::int & 2) <> 0  -- BEFORE
       and (t.tgtype::int & case p_verb when 'insert' then 4 when 'delete' then 8 else 16 end) <> 0;
    select string_agg(pg_catalog.quote_ident(r.rulename), ', ') into rul
      from pg_catalog.pg_rewrite r where r.ev_class = p_target and r.rulename <> '_RETURN';
    raise exception 'stripe_fdw: could not % % of % rows of %: %', p_verb, p_expected - p_done, p_expected, p_target,
                    case when trg is not null then format('a BEFORE %s trigger returned NULL (%s)', pg_catalog.upper(p_verb), trg)
                         when rul is not null then format('a rule rewrote the %s (%s)', p_verb, rul)
                         else 'something skipped them (a trigger or a rule)' end
        using errcode = '55000',
              hint = 'Nothing was applied. The engine must be able to write each row as Stripe has it: '
                     || 'let the trigger or rule pass the rows stripe_fdw writes.';
end
$$;

-- Ids of p_target rows outside the read that hold a unique value the read gives one of its ids
-- (a lookup key moved from one price to another, delivered out of order): those rows are stale
-- too, and are read again with it.
create function stripe_fdw._sync_blockers(s stripe_fdw._sync_step, p_act text) returns text[]
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    cond text;
    ids  text[] := '{}';
    more text[];
    key_s text := stripe_fdw._key_expr(s.key_col, s.key_field, 's');
    key_t text := stripe_fdw._key_expr(s.key_col, s.key_field, 't');
begin
    for cond in
        select string_agg(format('t.%1$I = s.%1$I', a.attname), ' and ')
          from pg_catalog.pg_index i
          cross join lateral pg_catalog.unnest(i.indkey::int2[]) u(attnum)
          join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = u.attnum
         where i.indrelid = s.target and i.indisunique and i.indexprs is null and i.indpred is null
         group by i.indexrelid
        having bool_and(u.attnum > 0 and exists (select from pg_catalog.jsonb_array_elements(s.spec) c
                                                  where c ->> 'col' = a.attname::text
                                                    and not (c ->> 'is_key')::bool))
    loop
        execute format($q$
            select coalesce(pg_catalog.array_agg(distinct (%1$s)::pg_catalog.text), '{}')
              from %2$s t join pg_temp.%3$I s on %4$s
              join pg_temp.%5$I a on a.k = %6$s and a.act = 'apply' and a.present
             where %1$s <> %6$s and not exists (select from pg_temp.%5$I b where b.k = %1$s)
            $q$, key_t, s.target, s.map, cond, p_act, key_s) into more;
        ids := ids || more;
    end loop;
    return ids;
end
$$;

-- The rows p_act says to apply that cannot be mapped: a NOT NULL column of the target would be null
-- (a subscription whose customer is not in the app's customers table, so user_id has no value).
-- They are left as they are (act 'unmapped': neither written nor deleted) and counted; the first
-- five reasons name the id and the columns. Never the whole sync's failure.
create function stripe_fdw._sync_unmapped(s stripe_fdw._sync_step, p_act text, out n bigint, out reasons text[])
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    cols  text[] := stripe_fdw._sync_notnull(s);
    which text;
begin
    n := 0;
    reasons := '{}';
    if pg_catalog.cardinality(cols) = 0 then
        return;
    end if;
    -- The names of the columns that are null, for the reason.
    select 'pg_catalog.concat_ws('', '', '
           || pg_catalog.string_agg(format('case when s.%I is null then %L end', c, c), ', ') || ')'
      into which
      from pg_catalog.unnest(cols) c;
    execute format($q$
        with u as (
            update pg_temp.%1$I a set act = 'unmapped'
              from pg_temp.%2$I s
             where a.k = %3$s and a.act = 'apply' and a.present and (%4$s)
            returning a.k::pg_catalog.text as k, %5$s as cols)
        select pg_catalog.count(*),
               coalesce((pg_catalog.array_agg(pg_catalog.format('%%s: %%s would be null', u.k, u.cols) order by u.k))[1:5], '{}')
          from u$q$,
        p_act, s.map, stripe_fdw._key_expr(s.key_col, s.key_field, 's'), stripe_fdw._sync_unmapped_cond(s), which)
      into n, reasons;
end
$$;

-- Update (the rows that differ) and insert (the new ones) what p_act says to apply, under the
-- caller's search_path. A unique value that moves between rows (a lookup key transferred from
-- one price to another) can make the one UPDATE collide with a row it is about to change too:
-- then row by row, again while any goes through, freeing the nullable unique columns of the rows
-- left once (values swapped between rows). Returns {inserted, updated}.
create function stripe_fdw._sync_put(s stripe_fdw._sync_step, p_act text, p_tname text, p_path text)
returns bigint[]
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    key_s   text := stripe_fdw._key_expr(s.key_col, s.key_field, 's');
    key_t   text := stripe_fdw._key_expr(s.key_col, s.key_field, 't');
    e_upd   bigint;
    e_ins   bigint;
    upd     bigint := 0;
    ins     bigint;
    n       bigint;
    one     text;
    pending text[];
    left_   text[];
    freed   bool := false;
    nulls   text;
    upd_sql text;
begin
    execute format($q$select pg_catalog.count(*) filter (where a.present and a.found and a.differs),
                             pg_catalog.count(*) filter (where a.present and not a.found)
                        from pg_temp.%I a where a.act = 'apply'$q$, p_act) into e_upd, e_ins;
    upd_sql := format($q$update %1$s t set %2$s from pg_temp.%3$I s, pg_temp.%4$I a
                         where %5$s operator(pg_catalog.=) %6$s and a.k operator(pg_catalog.=) %6$s
                           and a.act operator(pg_catalog.=) 'apply'::pg_catalog.text and a.differs$q$,
                      p_tname, s.sets, s.map, p_act, key_t, key_s);
    if s.sets <> '' and e_upd > 0 then
        begin
            perform pg_catalog.set_config('search_path', p_path, true);
            execute upd_sql;
            get diagnostics upd = row_count;
            perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        exception when unique_violation then
            perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            execute format($q$select pg_catalog.array_agg(a.k::pg_catalog.text order by a.k)
                                from pg_temp.%I a where a.act = 'apply' and a.differs and a.present and a.found$q$, p_act)
               into pending;
            upd := 0;
            loop
                left_ := '{}';
                foreach one in array pending loop
                    begin
                        perform pg_catalog.set_config('search_path', p_path, true);
                        execute upd_sql || format(' and (%s)::pg_catalog.text operator(pg_catalog.=) $1', key_s) using one;
                        get diagnostics n = row_count;
                        perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
                        upd := upd + n;
                    exception when unique_violation then
                        left_ := left_ || one;
                    end;
                end loop;
                exit when pg_catalog.cardinality(left_) = 0;
                if pg_catalog.cardinality(left_) = pg_catalog.cardinality(pending) then
                    -- No row went through: the values go round. Free the rows' nullable unique
                    -- columns once, then try again; still stuck: the collision, as it is.
                    select string_agg(format('%I = null', a.attname), ', ') into nulls
                      from pg_catalog.pg_attribute a
                     where a.attrelid = s.target and a.attnum > 0 and not a.attnotnull
                       and a.attname::text <> s.key_col
                       and exists (select from pg_catalog.pg_index i
                                    where i.indrelid = s.target and i.indisunique
                                      and a.attnum = any(i.indkey::int2[]));
                    perform pg_catalog.set_config('search_path', p_path, true);
                    if freed or nulls is null then
                        execute upd_sql || format(' and (%s)::pg_catalog.text operator(pg_catalog.=) any($1)', key_s) using left_;
                        exit;  -- not reached: that raises the unique violation
                    end if;
                    freed := true;
                    execute format('update %s t set %s where (%s)::pg_catalog.text operator(pg_catalog.=) any($1)',
                                   p_tname, nulls, key_t) using left_;
                    perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
                end if;
                pending := left_;
            end loop;
        end;
        if upd < e_upd then
            perform stripe_fdw._sync_refused(s.target, 'update', upd, e_upd);
        end if;
    end if;
    ins := 0;
    if e_ins > 0 then
        perform pg_catalog.set_config('search_path', p_path, true);
        execute format($q$insert into %1$s (%2$s) select %3$s from pg_temp.%4$I s, pg_temp.%5$I a
                           where a.k operator(pg_catalog.=) %6$s and a.act operator(pg_catalog.=) 'apply'::pg_catalog.text
                             and a.present and not a.found$q$,
                       p_tname, s.cols, s.scols, s.map, p_act, key_s);
        get diagnostics ins = row_count;
        perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        if ins < e_ins then
            perform stripe_fdw._sync_refused(s.target, 'insert', ins, e_ins);
        end if;
    end if;
    return array[ins, upd];
end
$$;

-- Delete the rows p_act says Stripe no longer has, under the caller's search_path.
create function stripe_fdw._sync_remove(s stripe_fdw._sync_step, p_act text, p_tname text, p_path text)
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    key_t text := stripe_fdw._key_expr(s.key_col, s.key_field, 't');
    e_del bigint;
    del   bigint := 0;
begin
    execute format($q$select pg_catalog.count(*) from pg_temp.%I a
                        where a.act = 'apply' and not a.present and a.found$q$, p_act) into e_del;
    if e_del > 0 then
        perform pg_catalog.set_config('search_path', p_path, true);
        execute format($q$delete from %1$s t using pg_temp.%2$I a
                           where %3$s operator(pg_catalog.=) a.k and a.act operator(pg_catalog.=) 'apply'::pg_catalog.text
                             and not a.present and a.found$q$, p_tname, p_act, key_t);
        get diagnostics del = row_count;
        perform pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        if del < e_del then
            perform stripe_fdw._sync_refused(s.target, 'delete', del, e_del);
        end if;
    end if;
    return del;
end
$$;

-- Bring the staged targets p_steps (parents first) to what was read, in the current transaction,
-- under the write lock: classify each id (sql/sync_stamps.sql), read again the ids in conflict and
-- the rows that hold a unique value the read moves, then write what applies and record the
-- stamps. Every target has a key (create_sync refuses one without). Readers are not blocked (the
-- targets are locked against other writers only). Any error leaves the caller's transaction (or
-- subtransaction) to roll back: the message says which target and what was being done (p_what:
-- 'sync', 'webhook', ...), PostgreSQL's detail names the row and the constraint.
create function stripe_fdw._sync_write(p_steps stripe_fdw._sync_step[], p_what text)
returns table (target regclass, inserted bigint, updated bigint, deleted bigint, reread bigint, skipped bigint,
               unmapped bigint, unmapped_reasons text[])
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    s     stripe_fdw._sync_step;
    s2    stripe_fdw._sync_step;
    k     int := coalesce(pg_catalog.array_length(p_steps, 1), 0);
    i     int;
    n     bigint;
    acts  text[] := pg_catalog.array_fill(null::text, array[k]);
    names text[] := pg_catalog.array_fill(null::text, array[k]);
    ins   bigint[] := pg_catalog.array_fill(0::bigint, array[k]);
    upd   bigint[] := pg_catalog.array_fill(0::bigint, array[k]);
    del   bigint[] := pg_catalog.array_fill(0::bigint, array[k]);
    rer   bigint[] := pg_catalog.array_fill(0::bigint, array[k]);
    skp   bigint[] := pg_catalog.array_fill(0::bigint, array[k]);
    unm   bigint[] := pg_catalog.array_fill(0::bigint, array[k]);
    whys  jsonb[] := pg_catalog.array_fill('[]'::jsonb, array[k]);
    u     record;
    conf  text[];
    r     bigint[];
    path  text := stripe_fdw._caller_path();
    doing text;
    st    text;
    msg   text;
    det   text;
    hnt   text;
begin
    perform stripe_fdw._write_lock();
    begin
        for i in 1 .. k loop
            names[i] := stripe_fdw._qname(p_steps[i].target);
            doing := format('locking %s', p_steps[i].target);
            execute format('lock table %s in share row exclusive mode', names[i]);
            -- Row-level security that applies to this role could hide rows from the comparison
            -- (a delete that never happens, an insert that collides): refuse, never a silent 0.
            if pg_catalog.row_security_active(p_steps[i].target) then
                raise exception 'stripe_fdw: row-level security applies to role % on %: the engine must see and write every row',
                                current_user, p_steps[i].target
                    using errcode = '42501',
                          hint = 'Nothing was applied. Drop FORCE ROW LEVEL SECURITY on the table (its owner then bypasses it), '
                                 || 'or give the role that registered it BYPASSRLS (docs/sync.md).';
            end if;
        end loop;
        for i in 1 .. k loop
            s := p_steps[i];
            doing := format('comparing %s with what it holds', s.target);
            acts[i] := pg_catalog.replace(s.map, '_map_', '_act_');
            perform stripe_fdw._sync_drop(acts[i]);
            execute format('create temp table %I (k %s primary key, present bool, found bool, differs bool,
                                                  act text, read_from bigint, read_to bigint) on commit drop',
                           acts[i], s.key_typ);
            perform stripe_fdw._sync_classify(s, acts[i], s.ids);
            execute format($q$select pg_catalog.array_agg(a.k::pg_catalog.text) filter (where a.act = 'conflict'),
                                     pg_catalog.count(*) filter (where a.act = 'skip')
                                from pg_temp.%I a$q$, acts[i]) into conf, n;
            skp[i] := n;
            perform stripe_fdw._count('conflicts', coalesce(pg_catalog.cardinality(conf), 0));
            perform stripe_fdw._count('older_skipped', n);
            if s.ids is not null then
                conf := coalesce(conf, '{}') || stripe_fdw._sync_blockers(s, acts[i]);
            end if;
            if coalesce(pg_catalog.cardinality(conf), 0) > 0 and s.fed is not null then
                -- Read elsewhere (sql/json_apply.sql): whoever read them reads them again, now
                -- that this transaction holds the lock, and hands them over first.
                raise exception 'stripe_fdw: % ids of % must be read from Stripe again: another writer read them at the same time',
                                pg_catalog.cardinality(conf), s.target
                    using errcode = '40001',
                          detail = pg_catalog.jsonb_build_object('object', s.fed, 'ids', pg_catalog.to_jsonb(conf))::text,
                          hint = 'Read those ids again (read_tick() first), apply them with stripe_fdw.apply_objects(), then call again, in this transaction.';
            end if;
            if coalesce(pg_catalog.cardinality(conf), 0) > 0 then
                -- Read them again now: under the lock, this read began after every committed one.
                doing := format('reading again %s ids of %s that another writer changed', pg_catalog.cardinality(conf), s.target);
                s2 := stripe_fdw._sync_stage_one(s.target, s.source, s.spec, s.key_col, s.key_field, conf, s.depth, s.diagnose, s.cond);
                execute format('delete from pg_temp.%I a where a.k::pg_catalog.text = any($1)', acts[i]) using conf;
                perform stripe_fdw._sync_classify(s2, acts[i], conf);
                execute format('delete from pg_temp.%I s where (%s)::pg_catalog.text = any($1)',
                               s.map, stripe_fdw._key_expr(s.key_col, s.key_field, 's')) using conf;
                execute format('insert into pg_temp.%I select * from pg_temp.%I', s.map, s2.map);
                perform stripe_fdw._sync_drop(s2.map);
                rer[i] := pg_catalog.cardinality(conf);
                perform stripe_fdw._count('rereads', rer[i]);
            end if;
        end loop;
        for i in 1 .. k loop
            s := p_steps[i];
            u := stripe_fdw._sync_unmapped(s, acts[i]);
            unm[i] := u.n;
            whys[i] := pg_catalog.to_jsonb(u.reasons);
            doing := format('writing into %s', s.target);
            r := stripe_fdw._sync_put(s, acts[i], names[i], path);
            ins[i] := r[1];
            upd[i] := r[2];
        end loop;
        for i in reverse k .. 1 loop
            s := p_steps[i];
            doing := format('deleting from %s the rows Stripe no longer has', s.target);
            del[i] := stripe_fdw._sync_remove(s, acts[i], names[i], path);
        end loop;
        for i in 1 .. k loop
            perform stripe_fdw._sync_stamp(p_steps[i], acts[i]);
        end loop;
    exception when others then
        get stacked diagnostics st = returned_sqlstate, msg = message_text, det = pg_exception_detail, hnt = pg_exception_hint;
        if st = '23503' and doing like 'deleting%' then
            hnt := concat_ws(E'\n', nullif(hnt, ''),
                'Nothing was applied. A row of your own still references a row Stripe deleted: delete or change it, '
                || 'or make that foreign key ON DELETE CASCADE or SET NULL, then sync again.');
        elsif st = '23503' and p_what = 'sync' then
            hnt := concat_ws(E'\n', nullif(hnt, ''),
                'Nothing was applied. The referenced row is not in its table: sync both tables in one call '
                || '(CALL stripe_fdw.sync() with no argument applies every target in foreign-key order), '
                || 'or register the referenced table with stripe_fdw.create_sync().');
        elsif st = '23503' then
            hnt := concat_ws(E'\n', nullif(hnt, ''),
                'Nothing was applied. The referenced row is not in its table, and its table is not kept from the same '
                || 'Stripe server (register it with stripe_fdw.create_sync()), or Stripe no longer has it.');
        elsif hnt is null or hnt not like 'Nothing was applied%' then
            hnt := concat_ws(E'\n', nullif(hnt, ''), 'Nothing was applied.');
        end if;
        perform stripe_fdw._reraise(st, format('stripe_fdw: %s failed while %s: %s', p_what, doing, msg), det, hnt);
    end;
    for i in 1 .. k loop
        if acts[i] is not null then
            perform stripe_fdw._sync_drop(acts[i]);
        end if;
        target := p_steps[i].target;
        inserted := ins[i];
        updated := upd[i];
        deleted := del[i];
        reread := rer[i];
        skipped := skp[i];
        unmapped := unm[i];
        unmapped_reasons := array(select pg_catalog.jsonb_array_elements_text(whys[i]));
        return next;
    end loop;
end
$$;
