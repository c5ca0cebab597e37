-- The Next.js subscription starter's products and prices tables (vercel/nextjs-subscription-payments,
-- supabase/migrations: the init migration, then the update that drops prices.description and
-- prices.metadata). Only these two tables: the pricing page needs nothing else.

create type public.pricing_type as enum ('one_time', 'recurring');
create type public.pricing_plan_interval as enum ('day', 'week', 'month', 'year');

create table public.products (
  id text primary key,          -- Stripe's product id, prod_...
  active boolean,
  name text,
  description text,
  image text,                   -- the product's first image
  metadata jsonb
);
alter table public.products enable row level security;
create policy "Allow public read-only access." on public.products for select using (true);

create table public.prices (
  id text primary key,          -- Stripe's price id, price_...
  product_id text references public.products,
  active boolean,
  unit_amount bigint,           -- in the currency's smallest unit
  currency text check (char_length(currency) = 3),
  type public.pricing_type,
  interval public.pricing_plan_interval,
  interval_count integer,
  trial_period_days integer
);
alter table public.prices enable row level security;
create policy "Allow public read-only access." on public.prices for select using (true);
