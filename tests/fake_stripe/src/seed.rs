//! Initial catalogs: empty, the demo SaaS catalog, seeded generated data, or a JSON file.

use std::io;

use serde::Deserialize;

use crate::ids::{make_id, SplitMix, PRICE_ID_LEN, PRODUCT_ID_LEN};
use crate::model::{MarketingFeature, Price, Product, Recurring};
use crate::state::State;
use crate::Catalog;

/// Build the state for `catalog`.
pub fn build(catalog: &Catalog) -> io::Result<State> {
    let result = match catalog {
        Catalog::Empty => Ok(State::default()),
        Catalog::Demo => demo().and_then(|mut st| {
            crate::seed_docs::demo(&mut st)?;
            Ok(st)
        }),
        Catalog::Generated {
            products,
            prices_per_product,
            seed,
        } => generated(*products, *prices_per_product, *seed),
        Catalog::File(path) => {
            let text = std::fs::read_to_string(path)?;
            from_json(&text)
        }
    };
    result
        .map(|mut st| {
            crate::seed_docs::base(&mut st);
            st
        })
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[derive(Deserialize)]
struct CatalogFile {
    #[serde(default)]
    products: Vec<Product>,
    #[serde(default)]
    prices: Vec<Price>,
}

/// `{"products":[...], "prices":[...]}` with full Stripe objects.
pub fn from_json(text: &str) -> Result<State, String> {
    let f: CatalogFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    State::from_objects(f.products, f.prices)
}

pub(crate) fn pad_id(prefix: &str, stem: &str, len: usize) -> String {
    let mut s = String::from(prefix);
    s.push_str(stem);
    while s.len() < prefix.len() + len {
        s.push('0');
    }
    s
}

const DEMO_BASE: i64 = 1_700_000_000;

/// Hobby / Pro / Team plus an archived Legacy plan.
fn demo() -> Result<State, String> {
    let pid = |stem: &str| pad_id("prod_", stem, PRODUCT_ID_LEN);
    let xid = |stem: &str| pad_id("price_", stem, PRICE_ID_LEN);
    let mut products = Vec::new();
    let mut prices = Vec::new();
    let mut t = DEMO_BASE;
    let mut tick = || {
        t += 3600;
        t
    };

    let mut legacy = Product::new(pid("DemoLegacy"), "Legacy".into(), tick());
    legacy.active = false;
    legacy.kind = "service".into();
    legacy.description = Some("Retired starter plan".into());
    legacy.metadata.insert("legacy".into(), "true".into());
    let mut lp = Price::new(
        xid("DemoLegacyMonthlyUsd"),
        legacy.id.clone(),
        "usd",
        500,
        Some(Recurring::new("month")),
        tick(),
    );
    lp.active = false;
    legacy.default_price = Some(lp.id.clone());
    products.push(legacy);
    prices.push(lp);

    let plans: [(&str, &str, i64, &str); 3] = [
        ("Hobby", "For side projects", 900, "hobby"),
        ("Pro", "For professionals", 2900, "pro"),
        ("Team", "For growing teams", 9900, "team"),
    ];
    for (i, (name, desc, monthly, key)) in plans.iter().enumerate() {
        let mut prod = Product::new(pid(&format!("Demo{name}")), name.to_string(), tick());
        prod.kind = "service".into();
        prod.description = Some(desc.to_string());
        prod.metadata.insert("index".into(), i.to_string());
        prod.tax_code = Some("txcd_10103001".into());
        prod.unit_label = Some("seat".into());
        prod.url = Some(format!("https://example.com/pricing#{key}"));
        prod.marketing_features = vec![
            MarketingFeature {
                name: Some(format!("{} projects", 3 * (i + 1))),
            },
            MarketingFeature {
                name: Some("Email support".into()),
            },
        ];
        let mut m = Price::new(
            xid(&format!("Demo{name}MonthlyUsd")),
            prod.id.clone(),
            "usd",
            *monthly,
            Some(Recurring::new("month")),
            tick(),
        );
        m.lookup_key = Some(format!("{key}_monthly"));
        m.nickname = Some(format!("{name} monthly"));
        let mut y = Price::new(
            xid(&format!("Demo{name}YearlyUsd")),
            prod.id.clone(),
            "usd",
            monthly * 10,
            Some(Recurring::new("year")),
            tick(),
        );
        y.lookup_key = Some(format!("{key}_yearly"));
        y.nickname = Some(format!("{name} yearly"));
        prod.default_price = Some(m.id.clone());
        products.push(prod);
        prices.push(m);
        prices.push(y);
        if *name == "Pro" {
            let mut e = Price::new(
                xid("DemoProMonthlyEur"),
                pid("DemoPro"),
                "eur",
                2700,
                Some(Recurring::new("month")),
                tick(),
            );
            e.lookup_key = Some("pro_monthly_eur".into());
            e.tax_behavior = Some("inclusive".into());
            prices.push(e);
        }
        if *name == "Team" {
            let mut s = Price::new(
                xid("DemoTeamSetupFeeUsd"),
                pid("DemoTeam"),
                "usd",
                49900,
                None,
                tick(),
            );
            s.nickname = Some("Team onboarding".into());
            s.metadata.insert("kind".into(), "setup_fee".into());
            prices.push(s);
        }
    }
    State::from_objects(products, prices)
}

const GEN_BASE: i64 = 1_600_000_000;

/// `n` products with `m` prices each; every object has a distinct `created` second.
fn generated(n: usize, m: usize, seed: u64) -> Result<State, String> {
    let mut rng = SplitMix(seed ^ 0xC0FF_EE00_D15E_A5E5);
    let mut products = Vec::with_capacity(n);
    let mut prices = Vec::with_capacity(n.saturating_mul(m));
    let step = (m as i64) + 1;
    for i in 0..n {
        let created = GEN_BASE + (i as i64) * step;
        let mut prod = Product::new(
            make_id(&mut rng, "prod_", PRODUCT_ID_LEN),
            format!("Product {i}"),
            created,
        );
        prod.active = !rng.chance(10);
        let service = rng.chance(60);
        prod.kind = if service { "service" } else { "good" }.into();
        if !service {
            prod.shippable = Some(rng.chance(50));
        }
        prod.metadata.insert("index".into(), i.to_string());
        if rng.chance(30) {
            let tier = ["bronze", "silver", "gold"][rng.below(3) as usize];
            prod.metadata.insert("tier".into(), tier.into());
        }
        if rng.chance(70) {
            prod.description = Some(format!("Generated product number {i}"));
        }
        if rng.chance(20) {
            prod.url = Some(format!("https://example.com/p/{i}"));
        }
        for j in 0..m {
            let created = created + 1 + j as i64;
            let recurring = match (j, rng.below(3)) {
                (0, _) | (3.., 0) => Some(Recurring::new("month")),
                (1, _) | (3.., 1) => Some(Recurring::new("year")),
                _ => None,
            };
            let currency = if rng.chance(30) { "eur" } else { "usd" };
            let amount = 100 * (1 + rng.below(500) as i64);
            let mut price = Price::new(
                make_id(&mut rng, "price_", PRICE_ID_LEN),
                prod.id.clone(),
                currency,
                amount,
                recurring,
                created,
            );
            price.active = prod.active && !rng.chance(5);
            if rng.chance(20) {
                price.lookup_key = Some(format!("gen_{i}_{j}"));
            }
            if rng.chance(25) {
                price.metadata.insert("index".into(), j.to_string());
            }
            if rng.chance(30) {
                price.nickname = Some(format!("Price {j} of product {i}"));
            }
            if j == 0 {
                prod.default_price = Some(price.id.clone());
            }
            prices.push(price);
        }
        products.push(prod);
    }
    State::from_objects(products, prices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_builds() {
        let s = demo().unwrap();
        assert_eq!(s.products.len(), 4);
        assert_eq!(s.prices.len(), 9);
        for p in s.products.iter() {
            assert_eq!(p.id.len(), 5 + PRODUCT_ID_LEN);
        }
        for p in s.prices.iter() {
            assert_eq!(p.id.len(), 6 + PRICE_ID_LEN);
        }
    }

    #[test]
    fn generated_is_deterministic() {
        let a = generated(50, 3, 7).unwrap();
        let b = generated(50, 3, 7).unwrap();
        let c = generated(50, 3, 8).unwrap();
        let ids = |s: &State| s.products.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&c));
        assert_eq!(a.prices.len(), 150);
    }
}
