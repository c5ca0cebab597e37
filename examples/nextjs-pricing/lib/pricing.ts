// Products with their active prices, in the shape of the Next.js subscription starter's query
// `from('products').select('*, prices(*)').eq('active', true).eq('prices.active', true)
//   .order('metadata->index').order('unit_amount', { referencedTable: 'prices' })`.
import { db } from './db';

export type Price = {
  id: string;
  unit_amount: number | null;
  currency: string;
  type: 'one_time' | 'recurring' | null;
  interval: 'day' | 'week' | 'month' | 'year' | null;
  interval_count: number | null;
};

export type ProductWithPrices = {
  id: string;
  name: string | null;
  description: string | null;
  image: string | null;
  prices: Price[];
};

// synced: the app's own tables that stripe_fdw.create_sync keeps equal to Stripe.
// live: views of the same shape over the foreign tables, read from Stripe on each request.
const SOURCES = {
  synced: { products: 'products', prices: 'prices' },
  live: { products: 'live_products', prices: 'live_prices' },
} as const;

export type Source = keyof typeof SOURCES;

export async function getProducts(source: Source): Promise<ProductWithPrices[]> {
  const sql = db();
  const t = SOURCES[source];
  return sql<ProductWithPrices[]>`
    select p.id, p.name, p.description, p.image,
           coalesce(json_agg(json_build_object(
                      'id', pr.id, 'unit_amount', pr.unit_amount, 'currency', pr.currency,
                      'type', pr.type, 'interval', pr.interval, 'interval_count', pr.interval_count)
                    order by pr.unit_amount) filter (where pr.id is not null),
                    '[]') as prices
    from public.${sql(t.products)} p
    left join public.${sql(t.prices)} pr on pr.product_id = p.id and pr.active
    where p.active
    group by p.id, p.name, p.description, p.image, p.metadata
    order by p.metadata->>'index', p.name`;
}

// unit_amount is in the currency's smallest unit: cents for usd, yen for jpy. "$9/month", "$9.50/month",
// "$499 one-time".
export function formatPrice(price: Price): string {
  const digits = new Intl.NumberFormat('en-US', { style: 'currency', currency: price.currency })
    .resolvedOptions().maximumFractionDigits ?? 2;
  const value = (price.unit_amount ?? 0) / 10 ** digits;
  const amount = new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: price.currency,
    minimumFractionDigits: Number.isInteger(value) ? 0 : digits,
  }).format(value);
  if (price.type !== 'recurring' || !price.interval) return `${amount} one-time`;
  const every =
    price.interval_count && price.interval_count > 1 ? `${price.interval_count} ${price.interval}s` : price.interval;
  return `${amount}/${every}`;
}
