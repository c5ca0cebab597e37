-- stripe_fdw cache, part three: drift against a live read, and the pg_cron schedule.
-- Needs sql/cache.sql (the registry), sql/cache_refresh.sql (refresh_cache) and sql/sync_apply.sql.

-- Rows that differ between the cache and a live read of its source, compared as a refresh compares
-- them (the sync engine's diff, sql/sync_apply.sql): added (in Stripe, not in the cache), removed
-- (in the cache, not in Stripe), changed (in both, some column differs). Writes nothing.
create function stripe_fdw.cache_drift(object text)
returns table (id text, change text)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    k    text := stripe_fdw._resolve(object);
    reg  stripe_fdw.cache_registry;
    src  regclass;
    ky   record;
    step stripe_fdw._sync_step;
begin
    select * into reg from stripe_fdw.cache_registry r where r.object = k;
    if not stripe_fdw._acts_for(reg.owner) then
        raise exception 'stripe_fdw: cache "%" was made for another role', k
            using errcode = '42501', hint = 'Compare it as the role that made it with create_cache().';
    end if;
    if not exists (select from pg_catalog.pg_class c where c.oid = reg.cache_relation) then
        raise exception 'stripe_fdw: the materialized view of cache "%" no longer exists', k
            using errcode = '42P01', hint = 'Recreate it with stripe_fdw.create_cache().';
    end if;
    if not (select c.relispopulated from pg_catalog.pg_class c where c.oid = reg.cache_relation) then
        raise exception 'stripe_fdw: cache "%" has not been populated', k
            using errcode = '55000', hint = pg_catalog.format('refresh materialized view %s;', reg.cache_relation);
    end if;
    src := pg_catalog.to_regclass(pg_catalog.format('%I.%I', reg.source_schema, reg.source_name));
    if src is null then
        raise exception 'stripe_fdw: the source table %.% of cache "%" no longer exists',
                        reg.source_schema, reg.source_name, k using errcode = '42P01';
    end if;
    select * into ky from stripe_fdw._key_of(reg.cache_relation);
    if ky.key_col is null then
        raise exception 'stripe_fdw: cache "%" has neither an id nor an attrs column: its rows cannot be told apart', k
            using errcode = '0A000', hint = 'Declare id (or attrs) on the foreign table and recreate the cache.';
    end if;
    step := stripe_fdw._sync_copy_stage(reg.cache_relation, src, ky.key_col, ky.key_field);
    return query select d.id, d.change from stripe_fdw._sync_diff(step) d;
    perform stripe_fdw._sync_unstage(array[step]);
end
$$;

comment on function stripe_fdw.cache_drift(text) is
    'Compare a cache with a live read of Stripe: id + added/removed/changed; empty = consistent';

-- pg_cron scheduling -----------------------------------------------------------------------------

create function stripe_fdw._cron_check() returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v text;
begin
    select e.extversion into v from pg_catalog.pg_extension e where e.extname = 'pg_cron';
    if v is null or pg_catalog.to_regnamespace('cron') is null then
        raise exception 'stripe_fdw: scheduling needs the pg_cron extension in this database'
            using errcode = '55000',
                  hint = 'Install pg_cron: apt install postgresql-15-cron; add shared_preload_libraries = ''pg_cron'' '
                      || 'and cron.database_name = ''' || pg_catalog.current_database()
                      || ''' to postgresql.conf; restart PostgreSQL; then run: create extension pg_cron;';
    end if;
    if not pg_catalog.has_schema_privilege('cron', 'usage') then
        raise exception 'stripe_fdw: role % may not use pg_cron (no USAGE on schema cron)', current_user
            using errcode = '42501',
                  hint = pg_catalog.format('As a superuser: grant usage on schema cron to %I;', current_user);
    end if;
    return v;
end
$$;

-- The cron schedule for an interval: < 1 minute -> 'N seconds' (pg_cron >= 1.5), whole minutes
-- dividing an hour -> '*/N * * * *', whole hours dividing a day -> '0 */N * * *'.
create function stripe_fdw._cron_schedule(every interval, cron_version text default null) returns text
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    s numeric := extract(epoch from every);
    supported constant text :=
        'Supported: 1-59 seconds (pg_cron 1.5 or later), 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 minutes, '
        || '1, 2, 3, 4, 6, 8, 12 or 24 hours.';
begin
    if every is null or s <= 0 then
        raise exception 'stripe_fdw: the refresh interval must be positive' using errcode = '22023', hint = supported;
    end if;
    if s < 60 then
        if s <> trunc(s) then
            raise exception 'stripe_fdw: cannot schedule every %: whole seconds only', every
                using errcode = '22023', hint = supported;
        end if;
        if cron_version is not null
           and string_to_array(split_part(cron_version, '-', 1), '.')::int[] < array[1, 5] then
            raise exception 'stripe_fdw: pg_cron % cannot schedule every %: second schedules need pg_cron 1.5 or later',
                            cron_version, every
                using errcode = '0A000', hint = 'Upgrade pg_cron, or use an interval of 1 minute or more.';
        end if;
        return s::int || ' seconds';
    end if;
    if s % 3600 = 0 and 86400 % s = 0 then
        return '0 */' || (s / 3600)::int || ' * * *';
    end if;
    if s % 60 = 0 and 3600 % s = 0 then
        return '*/' || (s / 60)::int || ' * * * *';
    end if;
    raise exception 'stripe_fdw: cannot schedule every %', every using errcode = '22023', hint = supported;
end
$$;

create function stripe_fdw.schedule_refresh(every interval default '5 minutes',
                                             reconcile_every interval default '1 day') returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v text := stripe_fdw._cron_check();
begin
    if reconcile_every is null or reconcile_every <= interval '0' then
        raise exception 'stripe_fdw: reconcile_every must be a positive interval' using errcode = '22023',
            hint = 'E.g. schedule_refresh(''5 minutes'', ''1 day'').';
    end if;
    -- What stripe_fdw.health measures ages against.
    insert into stripe_fdw.schedule_state as s (one, every, reconcile_every)
    values (true, schedule_refresh.every, schedule_refresh.reconcile_every)
    on conflict (one) do update set every = excluded.every, reconcile_every = excluded.reconcile_every;
    -- pg_cron replaces the job of the same name and user. run_scheduled (sql/catchup.sql) runs
    -- catch_up() and the stale caches, and refresh_all() once per reconcile_every.
    return cron.schedule('stripe_fdw_refresh', stripe_fdw._cron_schedule(every, v),
                         pg_catalog.format('call stripe_fdw.run_scheduled(%L)', reconcile_every));
end
$$;

comment on function stripe_fdw.schedule_refresh(interval, interval) is
    'Schedule CALL stripe_fdw.run_scheduled(reconcile_every) with pg_cron (job stripe_fdw_refresh): catch_up() and stale caches each run, every sync and cache once per reconcile_every; returns the job id';

create function stripe_fdw.unschedule_refresh() returns bool
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform stripe_fdw._cron_check();
    if not exists (select 1 from cron.job j where j.jobname = 'stripe_fdw_refresh' and j.username = current_user) then
        return false;
    end if;
    update stripe_fdw.schedule_state s set every = null, reconcile_every = null;
    return cron.unschedule('stripe_fdw_refresh');
end
$$;

comment on function stripe_fdw.unschedule_refresh() is
    'Remove the pg_cron job stripe_fdw_refresh of the current user; false when there was none';
