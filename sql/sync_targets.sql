-- stripe_fdw sync: which registered targets a call applies, and how: the ones the calling role can
-- use (the others are skipped with a WARNING and a reason in sync_status), in groups of targets
-- related by foreign keys, which apply together.
-- Needs sql/sync.sql (the registry, _sync_targets).

-- Why the calling role cannot sync target from source (null: it can): it needs USAGE on both
-- schemas, SELECT on the source and SELECT, INSERT, UPDATE and DELETE on the target.
create function stripe_fdw._sync_unusable(p_target regclass, p_source regclass) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select case
        when not pg_catalog.has_schema_privilege(n.nspname, 'usage')
            then format('role %I has no USAGE on schema %I', current_user, n.nspname)
        when p_source is not null and not pg_catalog.has_schema_privilege(sn.nspname, 'usage')
            then format('role %I has no USAGE on schema %I', current_user, sn.nspname)
        when p_source is not null and not pg_catalog.has_table_privilege(p_source, 'select')
            then format('role %I may not SELECT from %s', current_user, p_source)
        else (select format('role %I may not %s %s (grant it, as the table''s owner)', current_user, pg_catalog.upper(v), p_target)
                from pg_catalog.unnest(array['select', 'insert', 'update', 'delete']) v
               where not pg_catalog.has_table_privilege(p_target, v) limit 1) end
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      left join pg_catalog.pg_class sc on sc.oid = p_source
      left join pg_catalog.pg_namespace sn on sn.oid = sc.relnamespace
     where c.oid = p_target
$$;

-- This session's temporary table p_name, made by the engine for the calling role: null when there
-- is none; an error when one of that name is there that the engine did not make for it (another
-- role's, as under a security definer function, or one with triggers or rules): the engine never
-- writes into a temporary object someone else prepared.
create function stripe_fdw._temp_table(p_name text) returns regclass
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    rel regclass := pg_catalog.to_regclass('pg_temp.' || pg_catalog.quote_ident(p_name));
begin
    if rel is null then
        return null;
    end if;
    if stripe_fdw._owner_of(rel)::oid <> (select x.oid from pg_catalog.pg_roles x where x.rolname = current_user)
       or exists (select from pg_catalog.pg_trigger t where t.tgrelid = rel)
       or exists (select from pg_catalog.pg_rewrite r where r.ev_class = rel) then
        raise exception 'stripe_fdw: a temporary table % that stripe_fdw did not make for role % is in the way', p_name, current_user
            using errcode = '42P07', hint = pg_catalog.format('Drop it (drop table pg_temp.%I) and call again.', p_name);
    end if;
    return rel;
end
$$;

-- The registered targets the calling role can sync (and their sources), one (p_target) or all.
-- The others are skipped: a WARNING names each, and its registry row says why (when this role may
-- write the registry). Never an error for everything: one target out of reach stops nothing else.
create function stripe_fdw._usable_targets(p_target regclass default null)
returns table (target regclass, source regclass)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    g   record;
    why text;
begin
    for g in select t.target, t.source, t.target_owner from stripe_fdw._sync_targets(p_target) t loop
        why := stripe_fdw._sync_unusable(g.target, g.source);
        -- Dropped and made again by another role: never write into it with the registrant's rights.
        if why is null and g.target_owner is distinct from stripe_fdw._owner_of(g.target) then
            why := format('%s is owned by role %s now, not by role %s as when it was registered (register it again with create_sync)',
                          g.target, stripe_fdw._owner_of(g.target), coalesce(g.target_owner::text, '(unknown)'));
        end if;
        if why is null then
            target := g.target;
            source := g.source;
            return next;
            continue;
        end if;
        if p_target is not null then
            raise exception 'stripe_fdw: cannot sync %: %', g.target, why
                using errcode = '42501',
                      hint = 'Grant it those rights, or sync as the role that owns the table.';
        end if;
        raise warning 'stripe_fdw: sync target % skipped: %', g.target, why
            using hint = 'The reason says what to fix; stripe_fdw.sync_status.skipped keeps it.';
        -- Kept for the write: the registry is written only under the write lock.
        if stripe_fdw._temp_table('stripe_fdw_skips') is null then
            create temp table stripe_fdw_skips (rel oid primary key, why text) on commit drop;
        end if;
        insert into pg_temp.stripe_fdw_skips as k (rel, why) values (g.target::oid, why)
        on conflict (rel) do update set why = excluded.why;
    end loop;
end
$$;

-- Record in the registry why the targets _usable_targets skipped in this transaction were
-- skipped (when this role may write the registry). Under the write lock.
create function stripe_fdw._record_skips() returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    k record;
begin
    if stripe_fdw._temp_table('stripe_fdw_skips') is null then
        return;
    end if;
    perform stripe_fdw._write_lock();
    for k in select x.why, n.nsp, n.rel_name
               from pg_temp.stripe_fdw_skips x
              cross join lateral stripe_fdw._sync_name(x.rel::regclass) n loop
        begin
            update stripe_fdw.sync_registry r
               set skipped = k.why, skipped_at = pg_catalog.clock_timestamp()
             where r.target_schema = k.nsp and r.target_name = k.rel_name;
        exception when insufficient_privilege then
            null;  -- this role may not write the registry: the WARNING is all it can leave
        end;
    end loop;
    delete from pg_temp.stripe_fdw_skips;
end
$$;

-- p_targets in groups that apply together: the targets related by foreign keys, directly or not.
create function stripe_fdw._sync_groups(p_targets regclass[]) returns setof regclass[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    with recursive e (a, b) as (
        select c.conrelid, c.confrelid from pg_catalog.pg_constraint c
         where c.contype = 'f' and c.conrelid = any(p_targets::oid[]) and c.confrelid = any(p_targets::oid[])
        union
        select c.confrelid, c.conrelid from pg_catalog.pg_constraint c
         where c.contype = 'f' and c.conrelid = any(p_targets::oid[]) and c.confrelid = any(p_targets::oid[])),
    reach (t, r) as (
        select u::oid, u::oid from pg_catalog.unnest(p_targets) u
        union
        select reach.t, e.b from reach join e on e.a = reach.r)
    select pg_catalog.array_agg(g.t::regclass order by g.t::regclass::text)
      from (select reach.t, pg_catalog.min(reach.r) as comp from reach group by reach.t) g
     group by g.comp
     order by pg_catalog.min(g.t::regclass::text)
$$;

