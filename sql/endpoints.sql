-- stripe_fdw webhook endpoints, one per environment: create_webhook_endpoint() registers this
-- database's endpoint with Stripe, subscribed to the events its syncs and caches need, and keeps
-- its signing secret; webhook_endpoints() lists the account's endpoints against those needs;
-- forget_previous_webhook_secret() ends a rotation. See docs/webhooks.md.
-- Needs sql/webhooks.sql (_webhook_server), sql/sync.sql (_rel), sql/cache.sql (_owner_of,
-- _handler) and src/endpoints.rs (_create_webhook_endpoint, _webhook_endpoints,
-- _forget_previous_webhook_secret).

-- The event types server srv's registrations need: those of _event_map (sql/webhooks.sql, what
-- handle_webhook applies) for every object that a sync target or a cache reads from a foreign
-- table of srv, sorted. Every role's registrations count (one endpoint serves
-- the database), so it reads the registries as the extension's owner; it shows only event types,
-- which foreign tables' options (readable by all in pg_foreign_table) say as much of.
create function stripe_fdw._endpoint_events(srv oid) returns text[]
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(distinct m.event_type order by m.event_type), '{}')
      from (select stripe_fdw._rel(g.source_schema, g.source_name) as rel
              from stripe_fdw.sync_registry g
             where stripe_fdw._owner_of(stripe_fdw._rel(g.target_schema, g.target_name)) = g.target_owner
            union
            select stripe_fdw._rel(c.source_schema, c.source_name)
              from stripe_fdw.cache_registry c) s
      join pg_catalog.pg_foreign_table ft on ft.ftrelid = s.rel
      cross join stripe_fdw._event_map() m
     where ft.ftserver = srv and 'object=' || m.object = any(ft.ftoptions)
$$;

-- The stripe_fdw server p_server (one the caller may use), or with none given the only one the
-- caller may use: an error naming them when there are several (42725), or none (42704).
create function stripe_fdw._endpoint_server(p_server text) returns oid
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    names text[];
begin
    if p_server is not null then
        return stripe_fdw._webhook_server(p_server);
    end if;
    names := array(select fs.srvname::text
                     from pg_catalog.pg_foreign_server fs
                     join pg_catalog.pg_foreign_data_wrapper w on w.oid = fs.srvfdw
                    where w.fdwhandler = stripe_fdw._handler()
                      and pg_catalog.has_server_privilege(fs.oid, 'usage')
                    order by fs.srvname);
    if pg_catalog.cardinality(names) = 0 then
        raise exception 'stripe_fdw: there is no stripe_fdw server this role may use'
            using errcode = '42704',
                  hint = 'create server stripe_server foreign data wrapper stripe_wrapper; and grant usage on it (see the README)';
    elsif pg_catalog.cardinality(names) > 1 then
        raise exception 'stripe_fdw: this role may use % stripe_fdw servers: %', pg_catalog.cardinality(names),
                        pg_catalog.array_to_string(names, ', ')
            using errcode = '42725',
                  hint = 'Pass the server''s name: one endpoint per server (one per environment).';
    end if;
    return stripe_fdw._webhook_server(names[1]);
end
$$;

create function stripe_fdw.create_webhook_endpoint(url text, server text default null)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    srv    oid;
    events text[];
begin
    if url is null or url = '' then
        raise exception 'stripe_fdw: create_webhook_endpoint needs the URL of your webhook route'
            using errcode = '22004',
                  hint = 'For example: select stripe_fdw.create_webhook_endpoint(''https://example.com/api/webhooks'');';
    end if;
    srv := stripe_fdw._endpoint_server(server);
    events := stripe_fdw._endpoint_events(srv);
    if pg_catalog.cardinality(events) = 0 then
        raise exception 'stripe_fdw: nothing on server % needs webhooks: no sync target nor cache reads products or prices from it',
                        (select fs.srvname from pg_catalog.pg_foreign_server fs where fs.oid = srv)
            using errcode = '55000',
                  hint = 'Register what the endpoint keeps fresh first (stripe_fdw.create_sync or stripe_fdw.create_cache), then create the endpoint: it subscribes to exactly the events they need.';
    end if;
    return stripe_fdw._create_webhook_endpoint(srv, url, events);
end
$$;

comment on function stripe_fdw.create_webhook_endpoint(text, text) is
    'Register this database''s webhook endpoint with Stripe (the server''s owner only): subscribed to the events its syncs and caches need, metadata naming the database and server, the signing secret kept in Supabase Vault or the calling role''s user mapping (never in the server''s options, which every role can read; never shown)';

create function stripe_fdw.webhook_endpoints(server text default null)
returns table (server_name text, id text, url text, status text, enabled_events text[], metadata jsonb,
               api_version text, created timestamptz, livemode bool,
               serves_this bool, missing_events text[], names_this bool)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    srv   oid := stripe_fdw._endpoint_server(server);
    sname text := (select fs.srvname from pg_catalog.pg_foreign_server fs where fs.oid = srv);
    need  text[] := stripe_fdw._endpoint_events(srv);
begin
    return query
    select sname, e.id, e.url, e.status, e.enabled_events, e.metadata, e.api_version,
           pg_catalog.to_timestamp(e.created::double precision), e.livemode,
           pg_catalog.cardinality(x.missing) = 0 and e.status = 'enabled',
           x.missing,
           coalesce(e.metadata ->> 'database' = pg_catalog.current_database()
                    and e.metadata ->> 'server' = sname, false)
      from stripe_fdw._webhook_endpoints(srv) e
     cross join lateral (
           select array(select n from pg_catalog.unnest(need) n
                         where not (n = any(e.enabled_events) or '*' = any(e.enabled_events))
                         order by n) as missing) x;
end
$$;

comment on function stripe_fdw.webhook_endpoints(text) is
    'The webhook endpoints of a stripe_fdw server''s Stripe account, live: serves_this when enabled and subscribed to every event this database''s syncs and caches need (missing_events lists the others), names_this when its metadata names this database and server';

create function stripe_fdw.forget_previous_webhook_secret(server text default null) returns bool
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    return stripe_fdw._forget_previous_webhook_secret(stripe_fdw._endpoint_server(server));
end
$$;

comment on function stripe_fdw.forget_previous_webhook_secret(text) is
    'End an endpoint rotation (the server''s owner only): keep only the newest webhook secret create_webhook_endpoint stored, once the old endpoint is deleted';
