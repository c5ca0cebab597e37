-- Keep the starter's tables equal to Stripe, then fill them once: the first deploy needs no webhook.
-- Columns not named take the source column of the same name; each value is cast to the target
-- column's type (text into the pricing_type and pricing_plan_interval enums). A missing trial is
-- 0, as the starter's webhook handler writes it. The recipe of docs/sync.md.
select stripe_fdw.create_sync('public.products', 'stripe.products', '{"image": "images[1]"}');
select stripe_fdw.create_sync('public.prices', 'stripe.prices', '{
  "product_id": "product",
  "interval": "recurring_interval",
  "interval_count": "recurring_interval_count",
  "trial_period_days": "coalesce(trial_period_days, 0)"
}');
call stripe_fdw.sync();
