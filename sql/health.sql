-- stripe_fdw health: one row per sync target, cache and server of the calling role, ok, warning or
-- failing, with the reason and the figures behind it. `select * from stripe_fdw.health where
-- status <> 'ok'` is the monitoring query (docs/monitoring.md). It reads only what the engine
-- already records (registries, event cursor, the record of events): no second bookkeeping.
-- Needs sql/sync_run.sql, sql/cache_refresh.sql, sql/catchup.sql, sql/json_worker.sql.

-- The schedule health measures against: schedule_refresh's intervals, or its defaults.
create function stripe_fdw._health_schedule(out every interval, out reconcile_every interval)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce((select s.every from stripe_fdw.schedule_state s), interval '5 minutes'),
           coalesce((select s.reconcile_every from stripe_fdw.schedule_state s), interval '1 day')
$$;

-- How to sync a target of source p_source by hand: sync(), or the Edge Function's worker for a
-- source it feeds (sql/json_worker.sql).
create function stripe_fdw._sync_how(p_source regclass) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select case when stripe_fdw._is_json_source(p_source)
                then 'run the stripe-sync Edge Function''s worker (POST .../stripe-sync/worker), or let its pg_cron job run it'
                else 'call stripe_fdw.sync();' end
$$;

-- How often the stripe-sync worker reconciles a target of source p_source in full (its account's
-- reconcile_every); null for a source the schedule of schedule_refresh keeps.
create function stripe_fdw._reconcile_every(p_source regclass) returns interval
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select a.reconcile_every
      from stripe_fdw._source_info(p_source) i
      join stripe_fdw.accounts a on a.server = i.server
     where i.json
$$;

-- Each row's status and reason: the first problem that holds, in the order listed (each problem
-- is written once, with its status and its sentence), else ok.
create view stripe_fdw.health as
with sched as (select * from stripe_fdw._health_schedule()),
syncs as (
    select 'sync'::text as kind, s.registered as name, coalesce(p.status, 'ok') as status, p.reason,
           s.synced_at as last_ok, s.age, s.last_error, s.repaired, null::bigint as missed_webhooks,
           null::timestamptz as last_webhook_at
      from stripe_fdw.sync_status s
     cross join sched
      left join lateral (
          select v.status, v.reason
            from (values
                (1, s.last_error is not null and (s.synced_at is null or s.last_error_at >= s.synced_at),
                 'failing', 'the last sync failed: ' || s.last_error),
                (2, s.skipped is not null, 'warning', 'skipped: ' || s.skipped),
                (3, s.synced_at is null, 'warning', 'never synced: ' || stripe_fdw._sync_how(s.source)),
                (4, s.synced_at < pg_catalog.now() - (coalesce(stripe_fdw._reconcile_every(s.source), sched.reconcile_every) + sched.every), 'warning',
                 pg_catalog.format('the last full sync is %s old, more than the schedule allows (%s): is the pg_cron job running?',
                                   pg_catalog.date_trunc('second', s.age),
                                   coalesce(stripe_fdw._reconcile_every(s.source), sched.reconcile_every) + sched.every)),
                (5, s.repaired > 0, 'warning',
                 pg_catalog.format('the last scheduled reconciliation had to repair what webhooks and catch_up had not applied (rows written: %s)', s.repaired)),
                (6, s.rows_skipped > 0, 'warning',
                 pg_catalog.format('the last full sync left out %s row(s) of Stripe that cannot be mapped, e.g. %s', s.rows_skipped, s.skip_reasons[1]))
            ) v(o, hit, status, reason)
           where v.hit order by v.o limit 1) p on true
),
caches as (
    select 'cache'::text, c.object, coalesce(p.status, 'ok'), p.reason,
           c.refreshed_at, c.age, c.last_error, null::bigint, null::bigint, null::timestamptz
      from stripe_fdw.cache_status c
     cross join sched
      left join lateral (
          select v.status, v.reason
            from (values
                (1, not c.populated, 'failing',
                 'not populated, reading it is an error: refresh materialized view ' || c.cache_relation::text || ';'),
                (2, c.last_error is not null, 'failing', 'the last refresh failed: ' || c.last_error),
                (3, c.stale_since < pg_catalog.now() - 2 * sched.every, 'warning',
                 pg_catalog.format('marked stale %s ago and not refreshed since: is the pg_cron job running?',
                                   pg_catalog.date_trunc('second', pg_catalog.now() - c.stale_since)))
            ) v(o, hit, status, reason)
           where v.hit order by v.o limit 1) p on true
),
servers as (
    select n.name, n.json, x.*, e.server as cursor, e.event_id, e.event_created, e.last_error
      from (select fs.srvname::text as name, false as json
              from pg_catalog.pg_foreign_server fs
             where fs.oid = any(stripe_fdw._fed_servers())
               and pg_catalog.has_server_privilege(fs.oid, 'usage')
            union all
            -- The accounts an Edge Function reads (sql/sources.sql) that feed a target of this role.
            select a.server, true from stripe_fdw.accounts a
             where pg_catalog.cardinality(stripe_fdw._json_objects(a.server)) > 0) n
      cross join lateral (
          select pg_catalog.count(*) filter (where w.via = 'catch_up' and w.action = 'applied'
                                               and w.received_at > pg_catalog.now() - interval '1 day') as missed,
                 pg_catalog.max(w.received_at) filter (where w.via = 'webhook') as last_webhook
            from stripe_fdw.webhook_events w where w.server = n.name) x
      left join stripe_fdw.event_cursor e on e.server = n.name
),
srv as (
    select 'server'::text, s.name, coalesce(p.status, 'ok'), p.reason,
           null::timestamptz, null::interval, s.last_error, null::bigint, s.missed, s.last_webhook
      from servers s
     cross join sched
      left join lateral (
          select v.status, v.reason
            from (values
                (1, s.last_error is not null, 'failing', 'the last catch_up failed: ' || s.last_error),
                (2, s.cursor is null, 'warning', 'catch_up has no starting point: '
                                                 || case when s.json then 'run the stripe-sync Edge Function''s worker (a full sync records it)'
                                                         else 'call stripe_fdw.sync();' end),
                (3, s.missed > 0, 'warning',
                 pg_catalog.format('webhooks are being missed: in the last day catch_up applied %s event(s) no webhook delivered', s.missed)),
                -- The newest event Stripe had at the last catch_up or sync is old, and no webhook came since it.
                (4, pg_catalog.to_timestamp(s.event_created) < pg_catalog.now() - greatest(interval '1 hour', 4 * sched.every)
                    and pg_catalog.to_timestamp(s.event_created) > coalesce(s.last_webhook, '-infinity'), 'warning',
                 pg_catalog.format('no webhook received %s for an event Stripe made %s ago: is the endpoint registered, with this database''s URL and secret?',
                                   case when s.last_webhook is null then 'ever'
                                        else 'since ' || pg_catalog.date_trunc('second', s.last_webhook)::text end,
                                   pg_catalog.date_trunc('second', pg_catalog.now() - pg_catalog.to_timestamp(s.event_created))))
            ) v(o, hit, status, reason)
           where v.hit order by v.o limit 1) p on true
)
select * from syncs
union all select * from caches
union all select * from srv;

comment on view stripe_fdw.health is
    'One row per sync target, cache and server of the calling role: status (ok, warning, failing), reason, and the figures behind them; select * from stripe_fdw.health where status <> ''ok'' is the monitoring query';
