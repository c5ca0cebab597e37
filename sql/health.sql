-- stripe_fdw health: one row per sync target, cache and server of the calling role, ok, warning or
-- failing, with the reason and the figures behind it. `select * from stripe_fdw.health where
-- status <> 'ok'` is the monitoring query (docs/monitoring.md). It reads only what the engine
-- already records (registries, event cursor, the record of events): no second bookkeeping.
-- Needs sql/sync_run.sql, sql/cache_refresh.sql, sql/catchup.sql.

-- The schedule health measures against: schedule_refresh's intervals, or its defaults.
create function stripe_fdw._health_schedule(out every interval, out reconcile_every interval)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce((select s.every from stripe_fdw.schedule_state s), interval '5 minutes'),
           coalesce((select s.reconcile_every from stripe_fdw.schedule_state s), interval '1 day')
$$;

create view stripe_fdw.health as
with sched as (select * from stripe_fdw._health_schedule()),
syncs as (
    select 'sync'::text as kind, s.registered as name,
           case when s.last_error is not null and (s.synced_at is null or s.last_error_at >= s.synced_at) then 'failing'
                when s.skipped is not null or s.synced_at is null
                     or s.synced_at < pg_catalog.now() - (sched.reconcile_every + sched.every)
                     or coalesce(s.repaired, 0) > 0 then 'warning'
                else 'ok' end as status,
           case when s.last_error is not null and (s.synced_at is null or s.last_error_at >= s.synced_at)
                    then 'the last sync failed: ' || s.last_error
                when s.skipped is not null then 'skipped: ' || s.skipped
                when s.synced_at is null then 'never synced: call stripe_fdw.sync();'
                when s.synced_at < pg_catalog.now() - (sched.reconcile_every + sched.every)
                    then pg_catalog.format('the last full sync is %s old, more than the schedule allows (%s): is the pg_cron job running?',
                                           pg_catalog.date_trunc('second', s.age), sched.reconcile_every + sched.every)
                when coalesce(s.repaired, 0) > 0
                    then pg_catalog.format('the last full sync had to repair what webhooks and catch_up had not applied (rows written: %s)', s.repaired)
           end as reason,
           s.synced_at as last_ok, s.age, s.last_error, s.repaired, null::bigint as missed_webhooks,
           null::timestamptz as last_webhook_at
      from stripe_fdw.sync_status s, sched
),
caches as (
    select 'cache'::text, c.object,
           case when c.last_error is not null then 'failing'
                when not c.populated or c.stale_since < pg_catalog.now() - 2 * sched.every then 'warning'
                else 'ok' end,
           case when c.last_error is not null then 'the last refresh failed: ' || c.last_error
                when not c.populated then 'never refreshed: call stripe_fdw.refresh_cache();'
                when c.stale_since < pg_catalog.now() - 2 * sched.every
                    then pg_catalog.format('marked stale %s ago and not refreshed since: is the pg_cron job running?',
                                           pg_catalog.date_trunc('second', pg_catalog.now() - c.stale_since))
           end,
           c.refreshed_at, c.age, c.last_error, null::bigint, null::bigint, null::timestamptz
      from stripe_fdw.cache_status c, sched
),
servers as (
    select fs.srvname::text as name, x.*, e.server as cursor, e.event_id, e.event_created, e.last_error
      from pg_catalog.pg_foreign_server fs
      cross join lateral (
          select pg_catalog.count(*) filter (where w.via = 'catch_up' and w.action = 'applied'
                                               and w.received_at > pg_catalog.now() - interval '1 day') as missed,
                 pg_catalog.max(w.received_at) filter (where w.via = 'webhook') as last_webhook
            from stripe_fdw.webhook_events w where w.server = fs.srvname) x
      left join stripe_fdw.event_cursor e on e.server = fs.srvname
     where fs.oid = any(stripe_fdw._fed_servers())
       and pg_catalog.has_server_privilege(fs.oid, 'usage')
),
srv as (
    select 'server'::text, s.name,
           case when s.last_error is not null then 'failing'
                when s.cursor is null then 'warning'
                when s.missed > 0 then 'warning'
                when pg_catalog.to_timestamp(s.event_created) < pg_catalog.now() - greatest(interval '1 hour', 4 * sched.every)
                     and pg_catalog.to_timestamp(s.event_created) > coalesce(s.last_webhook, '-infinity')
                    then 'warning'
                else 'ok' end,
           case when s.last_error is not null then 'the last catch_up failed: ' || s.last_error
                when s.cursor is null
                    then 'catch_up has no starting point: call stripe_fdw.sync();'
                when s.missed > 0
                    then pg_catalog.format('webhooks are being missed: in the last day catch_up applied %s event(s) no webhook delivered', s.missed)
                when pg_catalog.to_timestamp(s.event_created) < pg_catalog.now() - greatest(interval '1 hour', 4 * sched.every)
                     and pg_catalog.to_timestamp(s.event_created) > coalesce(s.last_webhook, '-infinity')
                    then pg_catalog.format('no webhook received %s for an event Stripe made %s ago: is the endpoint registered, with this database''s URL and secret?',
                                           case when s.last_webhook is null then 'ever'
                                                else 'since ' || pg_catalog.date_trunc('second', s.last_webhook)::text end,
                                           pg_catalog.date_trunc('second', pg_catalog.now() - pg_catalog.to_timestamp(s.event_created)))
           end,
           null::timestamptz, null::interval, s.last_error, null::bigint, s.missed, s.last_webhook
      from servers s, sched
)
select * from syncs
union all select * from caches
union all select * from srv;

comment on view stripe_fdw.health is
    'One row per sync target, cache and server of the calling role: status (ok, warning, failing), reason, and the figures behind them; select * from stripe_fdw.health where status <> ''ok'' is the monitoring query';
