// The pricing page: the app's own products and prices tables, kept equal to Stripe by stripe_fdw.
import { PricingTable } from '@/components/PricingTable';
import { getProducts } from '@/lib/pricing';

// Read the tables on every request: a change applied by sync() or a webhook shows on the next load.
export const dynamic = 'force-dynamic';

export default async function PricingPage() {
  const products = await getProducts('synced');
  return (
    <>
      <h1>Pricing</h1>
      <p className="source">
        From <code>public.products</code> and <code>public.prices</code>, kept by stripe_fdw.{' '}
        <a href="/live">Live from Stripe</a>
      </p>
      <PricingTable products={products} />
    </>
  );
}
