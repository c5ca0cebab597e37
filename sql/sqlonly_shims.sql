-- stripe_fdw without its library (the SQL-only build, scripts/sql-only): the functions the library
-- provides, each an error that says what does their work there. Only in the SQL-only build; the
-- extension's library defines the same names (src/webhook.rs, src/endpoints.rs).

create function stripe_fdw._no_library(what text, instead text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception 'stripe_fdw: % needs the stripe_fdw extension''s library, which this database does not have', what
        using errcode = '0A000', hint = instead;
end
$$;

create function stripe_fdw._verify_webhook(server oid, payload text, stripe_signature text) returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform stripe_fdw._no_library('handle_webhook',
        'Deliveries go to the stripe-sync Edge Function, which verifies them with stripe_fdw.webhook_receive() (docs/hosted-supabase.md).');
    return null;
end
$$;

create function stripe_fdw._stripe_events(server oid, since bigint, newest_only bool, types text[])
returns table (ord int, id text, event_type text, created bigint, object jsonb)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform stripe_fdw._no_library('catch_up',
        'The stripe-sync Edge Function''s worker catches up from Stripe''s events (docs/hosted-supabase.md).');
end
$$;

create function stripe_fdw._create_webhook_endpoint(server oid, url text, events text[]) returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform stripe_fdw._no_library('create_webhook_endpoint',
        'POST {"url": ...} to the stripe-sync Edge Function''s /setup route (docs/hosted-supabase.md).');
    return null;
end
$$;

create function stripe_fdw._webhook_endpoints(server oid)
returns table (id text, url text, status text, enabled_events text[], metadata jsonb, api_version text,
               created bigint, livemode boolean)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform stripe_fdw._no_library('webhook_endpoints', 'The Stripe Dashboard lists the endpoints (Developers > Webhooks).');
end
$$;

create function stripe_fdw._forget_previous_webhook_secret(server oid) returns bool
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    perform stripe_fdw._no_library('forget_previous_webhook_secret',
        'Store only the new secret: select stripe_fdw.set_webhook_secret(''stripe'', ''whsec_...'');');
    return null;
end
$$;
