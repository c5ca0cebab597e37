//! Table-driven tests of the events pushdown: `type` as `type=`, `types[]` or a `*` wildcard.

use super::tests::{list, t};
use super::*;
use crate::objects;

fn like(p: &str) -> Cond {
    Cond::new("type", Op::Like, t(p))
}
fn events(conds: Vec<Cond>) -> Fetch {
    plan(objects::find("events").expect("events"), &conds, None).fetch
}

#[test]
fn like_prefix_accepts_only_a_dotted_literal_prefix() {
    let cases = [
        ("product.%", Some("product.")),
        ("customer.subscription.%", Some("customer.subscription.")),
        ("product.%%", None),
        ("product%", None),
        ("product.", None),
        (".%", None),
        ("%", None),
        ("", None),
        ("%.%", None),
        ("pro%duct.%", None),
        ("payment_intent.%", None),
        ("product\\..%", None),
        ("product.created", None),
        ("product.%.x", None),
    ];
    for (pattern, want) in cases {
        assert_eq!(like_prefix(pattern), want, "{pattern:?}");
    }
}

#[test]
fn events_pushdown_rules() {
    use Op::*;
    let cases: Vec<(&str, Vec<Cond>, Fetch)> = vec![
        ("no quals", vec![], list(&[])),
        (
            "type = x",
            vec![Cond::new("type", Eq, t("price.updated"))],
            list(&[("type", "price.updated")]),
        ),
        (
            "type = a and type = b: nothing",
            vec![
                Cond::new("type", Eq, t("product.created")),
                Cond::new("type", Eq, t("product.updated")),
            ],
            Fetch::Nothing,
        ),
        (
            "type IN: types[], no type",
            vec![Cond::any(
                "type",
                vec![t("price.updated"), t("product.updated")],
            )],
            list(&[("types[]", "price.updated"), ("types[]", "product.updated")]),
        ),
        (
            "type IN with one value is type =",
            vec![Cond::any("type", vec![t("product.deleted")])],
            list(&[("type", "product.deleted")]),
        ),
        (
            "type IN and type = intersect",
            vec![
                Cond::any("type", vec![t("a.x"), t("b.x")]),
                Cond::new("type", Eq, t("b.x")),
            ],
            list(&[("type", "b.x")]),
        ),
        (
            "disjoint INs: nothing",
            vec![
                Cond::any("type", vec![t("a.x"), t("b.x")]),
                Cond::any("type", vec![t("c.x"), t("d.x")]),
            ],
            Fetch::Nothing,
        ),
        (
            "like 'product.%' is the wildcard",
            vec![like("product.%")],
            list(&[("type", "product.*")]),
        ),
        (
            "nested likes keep the longer prefix",
            vec![like("customer.%"), like("customer.subscription.%")],
            list(&[("type", "customer.subscription.*")]),
        ),
        (
            "likes no string can satisfy together: nothing",
            vec![like("product.%"), like("price.%")],
            Fetch::Nothing,
        ),
        (
            "an unpushable like is left to Postgres",
            vec![like("product%")],
            list(&[]),
        ),
        (
            "an unpushable like does not hide a pushable one",
            vec![like("%.created"), like("price.%")],
            list(&[("type", "price.*")]),
        ),
        (
            "like with '_' is left to Postgres",
            vec![like("payment_intent.%")],
            list(&[]),
        ),
        (
            "type = x and a like x fits: type = x",
            vec![
                Cond::new("type", Eq, t("product.updated")),
                like("product.%"),
            ],
            list(&[("type", "product.updated")]),
        ),
        (
            "type = x and a like x does not fit: nothing",
            vec![Cond::new("type", Eq, t("price.updated")), like("product.%")],
            Fetch::Nothing,
        ),
        (
            "IN narrowed by like to one value",
            vec![
                Cond::any("type", vec![t("price.created"), t("product.created")]),
                like("product.%"),
            ],
            list(&[("type", "product.created")]),
        ),
        (
            "IN narrowed by like to several values: types[] only",
            vec![
                like("product.%"),
                Cond::any(
                    "type",
                    vec![
                        t("price.created"),
                        t("product.created"),
                        t("product.deleted"),
                    ],
                ),
            ],
            list(&[
                ("types[]", "product.created"),
                ("types[]", "product.deleted"),
            ]),
        ),
        (
            "like on another column is not pushed",
            vec![Cond::new("request_id", Like, t("req_.%"))],
            list(&[]),
        ),
        (
            "a like value of the wrong kind is not pushed",
            vec![Cond::new("type", Like, Scalar::Bool(true))],
            list(&[]),
        ),
        (
            "type < x is not pushed",
            vec![Cond::new("type", Lt, t("product.created"))],
            list(&[]),
        ),
        (
            "type with created range",
            vec![
                like("price.%"),
                Cond::new("created", Ge, Scalar::Time(100_000_000)),
            ],
            list(&[("type", "price.*"), ("created[gte]", "100")]),
        ),
        (
            "created contradiction wins over type",
            vec![
                Cond::new("type", Eq, t("price.updated")),
                Cond::new("created", Gt, Scalar::Time(200_000_000)),
                Cond::new("created", Lt, Scalar::Time(100_000_000)),
            ],
            Fetch::Nothing,
        ),
        (
            "id = x: one retrieve",
            vec![
                Cond::new("id", Eq, t("evt_1")),
                Cond::new("type", Eq, t("price.updated")),
            ],
            Fetch::Retrieve(vec!["evt_1".into()]),
        ),
        (
            "id IN: one retrieve each",
            vec![Cond::any("id", vec![t("evt_2"), t("evt_1")])],
            Fetch::Retrieve(vec!["evt_1".into(), "evt_2".into()]),
        ),
    ];
    for (name, conds, want) in cases {
        assert_eq!(events(conds), want, "{name}");
    }
}

#[test]
fn types_go_in_batches_of_twenty_each_paged_and_never_with_type() {
    let types: Vec<Scalar> = (0..45).map(|i| t(&format!("x.e{i:02}"))).collect();
    let fetch = events(vec![
        Cond::any("type", types),
        Cond::new("created", Op::Ge, Scalar::Time(5_000_000)),
    ]);
    let Fetch::List(qs) = fetch else {
        panic!("list expected")
    };
    assert_eq!(qs.len(), 3);
    assert!(qs.iter().all(|q| q.paged));
    assert!(qs.iter().all(|q| q.params.iter().all(|(k, _)| k != "type")));
    assert!(qs
        .iter()
        .all(|q| q.params.first() == Some(&("created[gte]".into(), "5".into()))));
    let counts: Vec<usize> = qs
        .iter()
        .map(|q| q.params.iter().filter(|(k, _)| k == "types[]").count())
        .collect();
    assert_eq!(counts, vec![20, 20, 5]);
    let mut sent: Vec<&str> = qs
        .iter()
        .flat_map(|q| q.params.iter().filter(|(k, _)| k == "types[]"))
        .map(|(_, v)| v.as_str())
        .collect();
    sent.dedup();
    assert_eq!(sent.len(), 45);
}

#[test]
fn like_on_products_type_is_never_pushed() {
    let spec = objects::find("products").expect("products");
    let p = plan(spec, &[like("good.%")], None);
    assert_eq!(p.fetch, list(&[]));
}

#[test]
fn describe_shows_the_wildcard() {
    let spec = objects::find("events").expect("events");
    let p = plan(spec, &[like("product.%")], Some((3, 0)));
    let base = url::Url::parse("https://api.stripe.com/v1").expect("url");
    assert_eq!(
        p.describe(spec, &base),
        "GET /v1/events?type=product.*&limit=3 (then every page while has_more)"
    );
}
