//! Table-driven tests of the pushdown planner: each case is quals + LIMIT -> the exact requests.

use super::*;
use crate::objects;

/// Shared with plan_events_tests.rs.
pub(super) fn t(s: &str) -> Scalar {
    Scalar::Text(s.to_string())
}
fn secs(s: i64) -> Scalar {
    Scalar::Time(s * 1_000_000)
}
pub(super) fn list(params: &[(&str, &str)]) -> Fetch {
    Fetch::List(vec![ListQuery {
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        paged: true,
    }])
}
fn run(object: &str, conds: Vec<Cond>, limit: Option<(i64, i64)>) -> Plan {
    plan(objects::find(object).expect("object"), &conds, limit)
}

#[test]
fn pushdown_rules() {
    use Op::*;
    let cases: Vec<(&str, &str, Vec<Cond>, Fetch)> = vec![
        ("no quals: plain list", "products", vec![], list(&[])),
        (
            "id = x: retrieve",
            "products",
            vec![Cond::new("id", Eq, t("prod_1"))],
            Fetch::Retrieve(vec!["prod_1".into()]),
        ),
        (
            "id = x wins over other quals",
            "prices",
            vec![
                Cond::new("active", Eq, Scalar::Bool(true)),
                Cond::new("id", Eq, t("price_1")),
            ],
            Fetch::Retrieve(vec!["price_1".into()]),
        ),
        (
            "id = a and id = b: nothing",
            "products",
            vec![Cond::new("id", Eq, t("a")), Cond::new("id", Eq, t("b"))],
            Fetch::Nothing,
        ),
        (
            "prices id IN: one retrieve each, deduplicated",
            "prices",
            vec![Cond::any("id", vec![t("p2"), t("p1"), t("p2")])],
            Fetch::Retrieve(vec!["p1".into(), "p2".into()]),
        ),
        (
            "products id IN: ids[] in one unpaged batch",
            "products",
            vec![
                Cond::any("id", vec![t("b"), t("a")]),
                Cond::new("active", Eq, Scalar::Bool(true)),
            ],
            Fetch::List(vec![ListQuery {
                params: vec![
                    ("active".into(), "true".into()),
                    ("ids[]".into(), "a".into()),
                    ("ids[]".into(), "b".into()),
                ],
                paged: false,
            }]),
        ),
        (
            "active",
            "products",
            vec![Cond::new("active", Eq, Scalar::Bool(false))],
            list(&[("active", "false")]),
        ),
        (
            "active = true and active = false: nothing",
            "prices",
            vec![
                Cond::new("active", Eq, Scalar::Bool(true)),
                Cond::new("active", Eq, Scalar::Bool(false)),
            ],
            Fetch::Nothing,
        ),
        (
            "products type/shippable/url",
            "products",
            vec![
                Cond::new("type", Eq, t("service")),
                Cond::new("shippable", Eq, Scalar::Bool(true)),
                Cond::new("url", Eq, t("https://x.test/a b")),
            ],
            list(&[
                ("shippable", "true"),
                ("url", "https://x.test/a b"),
                ("type", "service"),
            ]),
        ),
        (
            "type outside Stripe's set is not pushed",
            "products",
            vec![Cond::new("type", Eq, t("Service"))],
            list(&[]),
        ),
        (
            "prices product/currency/type/interval/usage",
            "prices",
            vec![
                Cond::new("product", Eq, t("prod_1")),
                Cond::new("currency", Eq, t("usd")),
                Cond::new("type", Eq, t("recurring")),
                Cond::new("recurring_interval", Eq, t("month")),
                Cond::new("recurring_usage_type", Eq, t("licensed")),
            ],
            list(&[
                ("product", "prod_1"),
                ("currency", "usd"),
                ("type", "recurring"),
                ("recurring[interval]", "month"),
                ("recurring[usage_type]", "licensed"),
            ]),
        ),
        (
            "IN on a single-value filter is not pushed",
            "prices",
            vec![Cond::any("currency", vec![t("usd"), t("eur")])],
            list(&[]),
        ),
        (
            "IN with one value is =",
            "prices",
            vec![Cond::any("currency", vec![t("usd")])],
            list(&[("currency", "usd")]),
        ),
        (
            "lookup_key = x",
            "prices",
            vec![Cond::new("lookup_key", Eq, t("pro_monthly"))],
            list(&[("lookup_keys[]", "pro_monthly")]),
        ),
        (
            "created range",
            "prices",
            vec![
                Cond::new("created", Ge, secs(100)),
                Cond::new("created", Lt, secs(200)),
            ],
            list(&[("created[gte]", "100"), ("created[lte]", "199")]),
        ),
        (
            "created > and <=",
            "products",
            vec![
                Cond::new("created", Gt, secs(100)),
                Cond::new("created", Le, secs(200)),
            ],
            list(&[("created[gte]", "101"), ("created[lte]", "200")]),
        ),
        (
            "created = t",
            "products",
            vec![Cond::new("created", Eq, secs(150))],
            list(&[("created", "150")]),
        ),
        (
            "created between the same second",
            "products",
            vec![
                Cond::new("created", Ge, secs(150)),
                Cond::new("created", Le, secs(150)),
            ],
            list(&[("created", "150")]),
        ),
        (
            "created = fractional second: nothing",
            "products",
            vec![Cond::new("created", Eq, Scalar::Time(150_500_000))],
            Fetch::Nothing,
        ),
        (
            "created fractional bounds round outward-safe",
            "products",
            vec![
                Cond::new("created", Gt, Scalar::Time(100_500_000)),
                Cond::new("created", Lt, Scalar::Time(200_500_000)),
            ],
            list(&[("created[gte]", "101"), ("created[lte]", "200")]),
        ),
        (
            "negative fractional bound",
            "products",
            vec![Cond::new("created", Ge, Scalar::Time(-1_500_000))],
            list(&[("created[gte]", "-1")]),
        ),
        (
            "empty created range: nothing",
            "products",
            vec![
                Cond::new("created", Gt, secs(200)),
                Cond::new("created", Lt, secs(100)),
            ],
            Fetch::Nothing,
        ),
        (
            "unknown column is filtered by Postgres",
            "products",
            vec![Cond::new("name", Eq, t("Pro"))],
            list(&[]),
        ),
        (
            "a comparison other than = on text is not pushed",
            "prices",
            vec![Cond::new("product", Gt, t("prod_1"))],
            list(&[]),
        ),
        (
            "a value of the wrong kind is not pushed",
            "prices",
            vec![Cond::new("active", Eq, t("true"))],
            list(&[]),
        ),
    ];
    for (name, object, conds, want) in cases {
        assert_eq!(run(object, conds, None).fetch, want, "{name}");
    }
}

#[test]
fn lookup_keys_go_in_batches_of_ten_each_paged() {
    let keys: Vec<Scalar> = (0..23).map(|i| t(&format!("k{i:02}"))).collect();
    let p = run(
        "prices",
        vec![
            Cond::any("lookup_key", keys),
            Cond::new("active", Op::Eq, Scalar::Bool(true)),
        ],
        None,
    );
    let Fetch::List(qs) = p.fetch else {
        panic!("list expected")
    };
    assert_eq!(qs.len(), 3);
    assert!(qs
        .iter()
        .all(|q| q.paged && q.params[0] == ("active".into(), "true".into())));
    let sent: Vec<&str> = qs
        .iter()
        .flat_map(|q| q.params.iter().skip(1).map(|(_, v)| v.as_str()))
        .collect();
    assert_eq!(sent.len(), 23);
    assert_eq!(qs[0].params.len(), 11);
    assert_eq!(qs[2].params.len(), 4);
}

#[test]
fn ids_go_in_batches_of_a_hundred_and_ignore_limit() {
    let ids: Vec<Scalar> = (0..250).map(|i| t(&format!("prod_{i:03}"))).collect();
    let p = run("products", vec![Cond::any("id", ids)], Some((1, 0)));
    assert_eq!(
        p.first_page_limit, 100,
        "an ids[] batch cannot page, so it asks for all of it"
    );
    let Fetch::List(qs) = p.fetch else {
        panic!("list expected")
    };
    assert_eq!(
        qs.iter().map(|q| q.params.len()).collect::<Vec<_>>(),
        vec![100, 100, 50]
    );
    assert!(qs.iter().all(|q| !q.paged));
}

#[test]
fn limit_only_shrinks_the_first_page() {
    let cases = [
        (None, 100),
        (Some((5, 0)), 5),
        (Some((5, 10)), 15),
        (Some((500, 0)), 100),
        (Some((0, 0)), 1),
        (Some((i64::MAX, i64::MAX)), 100),
    ];
    for (limit, want) in cases {
        let p = run("products", vec![Cond::new("name", Op::Eq, t("x"))], limit);
        assert_eq!(p.first_page_limit, want, "{limit:?}");
        assert_eq!(p.fetch, list(&[]), "LIMIT never removes paging");
    }
}

#[test]
fn describe_shows_the_request_for_explain() {
    let spec = objects::find("prices").expect("prices");
    let p = plan(
        spec,
        &[Cond::new("product", Op::Eq, t("prod 1"))],
        Some((5, 0)),
    );
    let base = url::Url::parse("http://127.0.0.1:9/stripe/v1").expect("url");
    assert_eq!(
        p.describe(spec, &base),
        "GET /stripe/v1/prices?product=prod+1&limit=5 (then every page while has_more)"
    );
    let p = plan(spec, &[Cond::new("id", Op::Eq, t("price_1"))], None);
    assert_eq!(p.describe(spec, &base), "GET /stripe/v1/prices/price_1");
    let p = plan(
        spec,
        &[Cond::new("product", Op::Eq, t("a\nStripe Request: x"))],
        None,
    );
    let shown = p.describe(spec, &base);
    assert!(!shown.contains('\n'), "{shown}");
    assert!(shown.contains("product=a%0AStripe+Request%3A+x"), "{shown}");
}

#[test]
fn only_ids_stripe_could_have_become_a_path_segment() {
    let base = url::Url::parse("https://api.stripe.com/v1").expect("url");
    for id in ["..", ".", ""] {
        let p = run("prices", vec![Cond::new("id", Op::Eq, t(id))], None);
        assert_eq!(p.fetch, Fetch::Nothing, "{id:?}");
    }
    let long = "x".repeat(5001);
    let p = run("products", vec![Cond::new("id", Op::Eq, t(&long))], None);
    assert_eq!(p.fetch, Fetch::Nothing);
    // A custom product id that is no safe path segment is looked up with ids[] in the query.
    let p = run("products", vec![Cond::new("id", Op::Eq, t(".."))], None);
    let spec = objects::find("products").expect("products");
    assert_eq!(
        p.describe(spec, &base),
        "GET /v1/products?ids%5B%5D=..&limit=100 (one page)"
    );
    let p = run("products", vec![Cond::new("id", Op::Eq, t("prod_1"))], None);
    assert_eq!(p.fetch, Fetch::Retrieve(vec!["prod_1".into()]));
}
