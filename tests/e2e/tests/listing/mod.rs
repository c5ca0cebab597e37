//! What a query of each object needs to list any row (shared by the tests that read every object).

use e2e::Env;
use stripe_fdw_core::spec::quote_literal;

/// The condition a query of `table` (as `f`) needs (Stripe has no plain list of it), else "true".
pub fn needed(env: &mut Env, table: &str) -> String {
    let fixture = |o: &str, field: &str| {
        fake_stripe::docs::fixture(o)[field]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    match table {
        "setup_attempts" => format!(
            "f.setup_intent = {}",
            quote_literal(&fixture("setup_attempt", "setup_intent"))
        ),
        "tokens" => format!("f.id = {}", quote_literal(&fixture("token", "id"))),
        "mandates" => format!("f.id = {}", quote_literal(&fixture("mandate", "id"))),
        "subscription_items" => {
            let subs: Vec<String> = env
                .strings("select id from {s}.subscriptions")
                .iter()
                .map(|s| quote_literal(s))
                .collect();
            format!("f.subscription in ({})", subs.join(", "))
        }
        _ => "true".into(),
    }
}
