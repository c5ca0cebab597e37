// The plans and their prices, as cards: one per active product, its active prices cheapest first.
import { formatPrice, type ProductWithPrices } from '@/lib/pricing';

export function PricingTable({ products }: { products: ProductWithPrices[] }) {
  if (products.length === 0) {
    return <p data-testid="empty">No plans yet: create products and prices in Stripe.</p>;
  }
  return (
    <ul className="plans">
      {products.map((product) => (
        <li key={product.id} className="plan" data-testid="plan" data-product={product.id}>
          <h2>{product.name}</h2>
          {product.description && <p className="description">{product.description}</p>}
          <ul className="prices">
            {product.prices.map((price) => (
              <li key={price.id} data-testid="price" data-price={price.id}>
                {formatPrice(price)}
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ul>
  );
}
