// Root layout: one page of plans, no client JavaScript needed.
import type { Metadata } from 'next';
import './globals.css';

export const metadata: Metadata = {
  title: 'Pricing: stripe_fdw example',
  description: 'A pricing page read from Stripe through PostgreSQL and stripe_fdw',
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <main>{children}</main>
      </body>
    </html>
  );
}
