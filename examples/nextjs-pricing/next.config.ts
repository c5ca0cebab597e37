// Next.js configuration: a self-contained server build (.next/standalone) that starts in about a second.
import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  output: 'standalone',
  // The example folder is the app's root (the repository above it is a Cargo workspace).
  outputFileTracingRoot: __dirname,
};

export default nextConfig;
