// The same plans read live: views over the foreign tables stripe.products and stripe.prices.
import { PricingTable } from '@/components/PricingTable';
import { getProducts } from '@/lib/pricing';

export const dynamic = 'force-dynamic';

export default async function LivePricingPage() {
  const products = await getProducts('live');
  return (
    <>
      <h1>Pricing (live)</h1>
      <p className="source">
        Read from Stripe on this request through <code>stripe.products</code> and <code>stripe.prices</code>.{' '}
        <a href="/">Synced tables</a>
      </p>
      <PricingTable products={products} />
    </>
  );
}
