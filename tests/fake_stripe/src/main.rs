//! `fake_stripe` binary: serve the fake Stripe API until SIGTERM/SIGINT.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use fake_stripe::{Catalog, Config, FakeStripe, DEFAULT_API_KEY};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CatalogArg {
    Demo,
    Empty,
}

/// In-memory fake of Stripe's products and prices API.
#[derive(Parser, Debug)]
#[command(name = "fake_stripe", version)]
struct Args {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Accepted API key (repeatable; default sk_test_fake_key).
    #[arg(long = "api-key")]
    api_keys: Vec<String>,
    /// Built-in catalog.
    #[arg(long, value_enum, conflicts_with_all = ["products", "fixture"])]
    catalog: Option<CatalogArg>,
    /// Generate this many products.
    #[arg(long, conflicts_with = "fixture")]
    products: Option<usize>,
    /// Prices per generated product.
    #[arg(long, default_value_t = 3, requires = "products")]
    prices_per_product: usize,
    /// Seed for generated data.
    #[arg(long, default_value_t = 0, requires = "products")]
    seed: u64,
    /// Load `{"products":[...],"prices":[...]}` from this JSON file.
    #[arg(long)]
    fixture: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let catalog = if let Some(n) = args.products {
        Catalog::Generated {
            products: n,
            prices_per_product: args.prices_per_product,
            seed: args.seed,
        }
    } else if let Some(f) = args.fixture {
        Catalog::File(f)
    } else {
        match args.catalog {
            Some(CatalogArg::Demo) => Catalog::Demo,
            Some(CatalogArg::Empty) | None => Catalog::Empty,
        }
    };
    let api_keys = if args.api_keys.is_empty() {
        vec![DEFAULT_API_KEY.to_string()]
    } else {
        args.api_keys
    };
    let config = Config {
        port: args.port,
        api_keys,
        catalog,
    };
    let server = match FakeStripe::start_on(args.host, config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake_stripe: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening on http://{}:{}", args.host, server.port());
    let _ = out.flush();
    let waited = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(wait_for_signal()));
    drop(server);
    match waited {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake_stripe: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
