-- stripe_fdw for the example: the server (API url, webhook secret), the key, the foreign tables in
-- schema stripe, and the views /live reads. A psql script: the key and the webhook secret come from
-- the environment (EXAMPLE_API_KEY, EXAMPLE_API_URL, EXAMPLE_WEBHOOK_SECRET), never the command line.
\set ON_ERROR_STOP 1
\set VERBOSITY terse
\getenv api_key EXAMPLE_API_KEY
\getenv api_url EXAMPLE_API_URL
\getenv webhook_secret EXAMPLE_WEBHOOK_SECRET

create extension if not exists stripe_fdw;
create foreign data wrapper stripe_wrapper handler stripe_fdw_handler validator stripe_fdw_validator;
-- No api_url: the wrapper's default, the real Stripe API.
create server stripe_server foreign data wrapper stripe_wrapper;
\if :{?api_url}
alter server stripe_server options (add api_url :'api_url');
\endif
\if :{?webhook_secret}
alter server stripe_server options (add webhook_secret :'webhook_secret');
\endif
create user mapping for current_user server stripe_server options (api_key :'api_key');
\unset api_key
\unset webhook_secret
create schema stripe;
import foreign schema stripe from server stripe_server into stripe;

-- /live: the starter's two tables, read from Stripe on each query.
create view public.live_products as
  select id, active, name, description, images[1] as image, metadata
  from stripe.products;
create view public.live_prices as
  select id, product as product_id, active, unit_amount, currency, type,
         recurring_interval as interval, recurring_interval_count as interval_count, trial_period_days
  from stripe.prices;
