-- Test stub of the engine's JSON entry points (docs/hosted-contract.md), for flow_test.ts only:
-- each records its call in stub.calls and answers in the contract's shapes, driven by stub.state,
-- so the function's protocol (transactions, reads, read_again, the worker loop) can be tested
-- before the real engine exists. Never installed anywhere but a throwaway test database.

drop schema if exists stripe_fdw cascade;
drop schema if exists stub cascade;
create schema stripe_fdw;
comment on schema stripe_fdw is 'stripe-sync test stub';
create schema stub;

create table stub.calls (n bigserial primary key, fn text not null, args jsonb not null);
create table stub.received (event text primary key);
create table stub.applied (event text primary key);
-- Settings of a test: 'plans' (jsonb array, worker_plan's queue), 'read_again' (one answer given
-- once by webhook_apply or sync_finish), 'events' (endpoint_events), 'secret' (what was kept).
create table stub.state (k text primary key, v jsonb);
create sequence stub.tick;

create function stub.call(fn text, args jsonb) returns void language sql
as $$ insert into stub.calls (fn, args) values (fn, args) $$;

create function stub.take(key text) returns jsonb language sql
as $$ delete from stub.state where k = key returning v $$;

create function stub.push_plan(p jsonb) returns void language sql as $$
  insert into stub.state values ('plans', jsonb_build_array(p))
  on conflict (k) do update set v = jsonb_build_array(p) || stub.state.v
$$;

create function stripe_fdw.read_tick() returns bigint language sql
as $$ select nextval('stub.tick') + 1000000000000 $$;

create function stripe_fdw.webhook_receive(payload text, stripe_signature text, server text default null)
returns jsonb language plpgsql as $$
declare e jsonb;
begin
  perform stub.call('webhook_receive', jsonb_build_object('signature', stripe_signature, 'server', server));
  if stripe_signature is distinct from 't=1,v1=good' then
    raise exception 'stripe_fdw: the webhook signature does not match' using errcode = '28000';
  end if;
  e := payload::jsonb;
  insert into stub.received values (e->>'id') on conflict do nothing;
  if exists (select from stub.applied where event = e->>'id') then
    return jsonb_build_object('server', server, 'event', e->>'id', 'type', e->>'type', 'action', 'duplicate');
  end if;
  return jsonb_build_object('server', server, 'event', e->>'id', 'type', e->>'type', 'read',
    coalesce(e->'stub_read', jsonb_build_array(jsonb_build_object(
      'object', 'products', 'ids', jsonb_build_array(e->'data'->'object'->>'id')))));
end $$;

create function stripe_fdw.webhook_apply(payload text, stripe_signature text, reads jsonb, server text default null)
returns jsonb language plpgsql as $$
declare e jsonb := payload::jsonb; again jsonb;
begin
  perform stub.call('webhook_apply', jsonb_build_object('reads', reads, 'server', server));
  if e->>'type' = 'stub.fail' then raise exception 'stub: webhook_apply fails'; end if;
  again := stub.take('read_again');
  if again is not null then return jsonb_build_object('read_again', again); end if;
  insert into stub.applied values (e->>'id');
  return jsonb_build_object('event', e->>'id', 'type', e->>'type', 'action', 'applied',
    'rows', (select coalesce(sum(jsonb_array_length(r->'objects') + jsonb_array_length(r->'gone')), 0)
               from jsonb_array_elements(reads) r));
end $$;

create function stripe_fdw.apply_objects(server text, object text, read_from bigint, read_to bigint, objects jsonb, gone text[] default '{}')
returns jsonb language plpgsql as $$
begin
  perform stub.call('apply_objects', jsonb_build_object('server', server, 'object', object,
    'read_from', read_from, 'ids', (select jsonb_agg(o->'id') from jsonb_array_elements(objects) o),
    'gone', to_jsonb(gone)));
  return jsonb_build_object('rows', jsonb_array_length(objects) + cardinality(gone), 'skipped', 0, 'skip_reasons', '[]'::jsonb);
end $$;

create function stripe_fdw.worker_plan(server text) returns jsonb language plpgsql as $$
declare q jsonb := (select v from stub.state where k = 'plans');
begin
  perform stub.call('worker_plan', jsonb_build_object('server', server));
  if q is null or jsonb_array_length(q) = 0 then return '{"do": "idle"}'; end if;
  update stub.state set v = q - 0 where k = 'plans';
  return q->0;
end $$;

create function stripe_fdw.sync_start(server text, read_from bigint, newest_event jsonb) returns jsonb
language plpgsql as $$
begin
  perform stub.call('sync_start', jsonb_build_object('read_from', read_from, 'newest', newest_event->'id'));
  return '{"started": true}';
end $$;

create function stripe_fdw.sync_page(server text, object text, page jsonb, run bigint) returns jsonb
language plpgsql as $$
declare n int := jsonb_array_length(page->'data');
begin
  perform stub.call('sync_page', jsonb_build_object('object', object, 'n', n, 'has_more', page->'has_more'));
  if (page->>'has_more')::bool then
    perform stub.push_plan(jsonb_build_object('do', 'sync_page', 'object', object,
      'starting_after', page->'data'->(n - 1)->'id', 'run', run));
  end if;
  return jsonb_build_object('rows', n);
end $$;

create function stripe_fdw.sync_finish(server text) returns jsonb language plpgsql as $$
declare again jsonb := stub.take('read_again');
begin
  perform stub.call('sync_finish', '{}');
  if again is not null then return jsonb_build_object('read_again', again); end if;
  return '{"rows": 0, "done": true}';
end $$;

create function stripe_fdw.catch_up_plan(server text, events jsonb) returns jsonb language plpgsql as $$
begin
  perform stub.call('catch_up_plan', jsonb_build_object('events', (select jsonb_agg(e->'id') from jsonb_array_elements(events) e)));
  return jsonb_build_object('read', coalesce((
    select jsonb_agg(jsonb_build_object('object', 'products', 'ids', ids))
      from (select jsonb_agg(distinct e->'data'->'object'->>'id') ids from jsonb_array_elements(events) e
             where e->>'type' like 'product.%') x where ids is not null), '[]'));
end $$;

create function stripe_fdw.catch_up_apply(server text, events jsonb, reads jsonb) returns jsonb
language plpgsql as $$
-- The new cursor is the first event: Stripe's order is newest first, and events of one second are
-- ordered only by it (created ties).
declare newest jsonb := events->0;
begin
  perform stub.call('catch_up_apply', jsonb_build_object('n', jsonb_array_length(events), 'reads', reads));
  if newest is not null then
    perform stub.push_plan(jsonb_build_object('do', 'catch_up', 'types', '["product.created", "product.updated"]'::jsonb,
      'created_gte', newest->'created', 'after', newest->'id'));
  end if;
  return jsonb_build_object('rows', (select coalesce(sum(jsonb_array_length(r->'objects')), 0) from jsonb_array_elements(reads) r));
end $$;

create function stripe_fdw.request_sync(server text) returns void language plpgsql as $$
begin
  perform stub.call('request_sync', jsonb_build_object('server', server));
  perform stub.push_plan('{"do": "sync_start", "types": ["product.created"]}');
end $$;

create function stripe_fdw.endpoint_events(server text) returns text[] language sql as $$
  select array(select jsonb_array_elements_text(coalesce((select v from stub.state where k = 'events'), '[]')))
$$;

create function stripe_fdw.set_webhook_secret(server text, secret text) returns void language plpgsql as $$
begin
  perform stub.call('set_webhook_secret', jsonb_build_object('server', server));
  insert into stub.state values ('secret', to_jsonb(secret)) on conflict (k) do update set v = excluded.v;
end $$;
