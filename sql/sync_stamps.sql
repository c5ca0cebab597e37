-- stripe_fdw read stamps: how the engine knows which of two reads of a Stripe object is the newer,
-- so that no writer ever replaces a state read later with one read earlier, and no deleted object
-- comes back from an older read (docs/sync.md, "Several writers at once").
-- Needs sql/sync_apply.sql (_sync_step).
--
-- Every read of Stripe (a staging, sql/sync_apply.sql) takes a tick of read_clock just before its
-- first request and one just after its last answer: Stripe answered inside [read_from, read_to].
-- A sequence is one total order across sessions, never rolled back, with no same-second ties.
-- What a target holds for an id is known as of the reads that agree with it: its row stamp (the
-- latest partial read that applied or confirmed it: a webhook, catch_up) and the target's last
-- full read (sync(), a cache refresh). Against that knowledge (the greatest from, the greatest to)
-- a new read [f, t] of the id is:
--   skip      known from > t: a read that began after this one ended holds it: this one is older;
--   apply     known to < f (or nothing known): everything known ended before this one began;
--   same      the two overlap and agree (same values, or both absent): nothing to write;
--   conflict  they overlap and differ: either may be newer. The id is read again under the write
--             lock (sql/sync_write.sql): that read begins after every committed read ended, so it
--             applies.
-- All writers hold the write lock from their first write to their commit, so stamps and rows
-- change together. A full read also removes the row stamps it supersedes (read_to < its
-- read_from), so the stamps hold only what changed since the last full read.

create sequence stripe_fdw.read_clock;

-- The latest partial read applied per target and id. Not dumped: after a restore nothing is
-- known, so the first read of each id applies (the safe direction).
create table stripe_fdw.read_stamps (
    rel       oid not null,     -- the target
    id        text not null,    -- the Stripe id
    read_from bigint not null,
    read_to   bigint not null,
    primary key (rel, id)
);

-- The latest full read applied per target.
create table stripe_fdw.full_reads (
    rel       oid primary key,
    read_from bigint not null,
    read_to   bigint not null
);

-- How often writers raced (conflicts met and ids read again, reads found older than what a target
-- held): for monitoring, and the figures of the stress test.
create table stripe_fdw.engine_counters (
    name text primary key,      -- conflicts | rereads | older_skipped
    n    bigint not null default 0
);

comment on table stripe_fdw.read_stamps is
    'stripe_fdw: when the state each synced row holds was read from Stripe (read_clock ticks), for the ids written by webhooks and catch_up since the last full read';
comment on table stripe_fdw.full_reads is
    'stripe_fdw: when the last full read applied to each sync target was made (read_clock ticks)';

create function stripe_fdw._read_tick() returns bigint
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.nextval('stripe_fdw.read_clock'::pg_catalog.regclass)
$$;

-- The one lock every writer takes first, from its first write to its commit: sync(), catch_up(),
-- handle_webhook(), the cache refreshes and the schedule. It is taken only after reading Stripe,
-- so it is held for the short write, never across a read (except the few ids a conflict reads
-- again). One lock first, the targets after it: writers queue, never deadlock.
create function stripe_fdw._write_lock() returns void
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.pg_advisory_xact_lock(1397113943, 1)  -- 'SFDW'
$$;

create function stripe_fdw._count(p_name text, p_n bigint) returns void
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    insert into stripe_fdw.engine_counters as c (name, n) select p_name, p_n where p_n > 0
    on conflict (name) do update set n = c.n + excluded.n
$$;

-- Classify what step s read for the ids p_ids (null: every id it read and every id the target
-- holds) against the target: one row per id in the temp table p_act (k, present: Stripe has it,
-- found: the target has it, differs, act, the read's ticks). The target must be locked.
create function stripe_fdw._sync_classify(s stripe_fdw._sync_step, p_act text, p_ids text[])
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    key_s text := stripe_fdw._key_expr(s.key_col, s.key_field, 's');
    key_t text := stripe_fdw._key_expr(s.key_col, s.key_field, 't');
    scope text;
begin
    -- The target rows this read speaks for: all of them, or the ids it read.
    scope := case when p_ids is null then 'true'
                  else format('(%s)::pg_catalog.text = any($1)', key_t) end;
    execute format($q$
        insert into pg_temp.%1$I (k, present, found, differs, act, read_from, read_to)
        select x.k, x.present, x.found, x.differs,
               case when greatest(rs.read_from, f.read_from) > $2 then 'skip'
                    when coalesce(greatest(rs.read_to, f.read_to), -1) < $3 then 'apply'
                    when x.present = x.found and not x.differs then 'same'
                    else 'conflict' end,
               $3, $2
          from (select %2$s as k, true as present, (%3$s) is not null as found,
                       coalesce(%3$s is not null and (%6$s), false) as differs
                  from pg_temp.%4$I s left join %5$s t on %3$s = %2$s
                 where $1 is null or (%2$s)::pg_catalog.text = any($1)
                union all
                select %3$s, false, true, false
                  from %5$s t
                 where %7$s and not exists (select from pg_temp.%4$I s where %2$s = %3$s)
                union all
                -- An id read and found gone, that the target does not hold either: nothing to
                -- write, but the read is known (so an older read that saw it cannot bring it in).
                select i::%8$s, false, false, false
                  from pg_catalog.unnest($1) i
                 where not exists (select from pg_temp.%4$I s where (%2$s)::pg_catalog.text = i)
                   and not exists (select from %5$s t where (%3$s)::pg_catalog.text = i)) x
          left join stripe_fdw.read_stamps rs on rs.rel = $4 and rs.id = x.k::pg_catalog.text
          left join stripe_fdw.full_reads f on f.rel = $4
        $q$, p_act, key_s, key_t, s.map, s.target, s.differ, scope, s.key_typ)
        using p_ids, s.read_to, s.read_from, s.target::oid;
end
$$;

-- Record the reads step s applied: row stamps for the ids of a partial read (and for the ids read
-- again after a conflict, whose ticks are their own), or, for a full read, the target's full read (merged: the greatest of each
-- tick), dropping the row stamps it supersedes. A row left as it is because it cannot be mapped
-- is stamped too: the read is known, so the same read handed over again (after a read_again,
-- sql/json_apply.sql) is not in conflict with a newer one again and again.
create function stripe_fdw._sync_stamp(s stripe_fdw._sync_step, p_act text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_act is not null then
        execute format($q$
            insert into stripe_fdw.read_stamps as r (rel, id, read_from, read_to)
            select $1, a.k::pg_catalog.text, a.read_from, a.read_to
              from pg_temp.%I a
             where a.act in ('apply', 'same', 'unmapped') and ($2 or a.read_from <> $3)
            on conflict (rel, id) do update
               set read_from = greatest(r.read_from, excluded.read_from),
                   read_to = greatest(r.read_to, excluded.read_to)
            $q$, p_act)
            using s.target::oid, s.ids is not null, s.read_from;
    end if;
    if s.ids is null then
        insert into stripe_fdw.full_reads as f (rel, read_from, read_to)
        values (s.target::oid, s.read_from, s.read_to)
        on conflict (rel) do update
           set read_from = greatest(f.read_from, excluded.read_from),
               read_to = greatest(f.read_to, excluded.read_to);
        delete from stripe_fdw.read_stamps r
         where r.rel = s.target::oid
           and r.read_to < (select f.read_from from stripe_fdw.full_reads f where f.rel = s.target::oid);
    end if;
end
$$;

-- Forget the stamps of relations that are gone (an OID can be used again by a new table).
create function stripe_fdw._stamps_prune() returns void
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
    delete from stripe_fdw.read_stamps r
     where not exists (select from pg_catalog.pg_class c where c.oid = r.rel);
    delete from stripe_fdw.full_reads f
     where not exists (select from pg_catalog.pg_class c where c.oid = f.rel);
$$;
