//! Planner tests of what the objects beyond the catalog need: required parameters, retrieve-only
//! and single objects, default parameters (`status=all`) and endpoints below a path.

use super::tests::{list, t};
use super::*;
use crate::objects;
use url::Url;

fn run(object: &str, conds: Vec<Cond>) -> Fetch {
    plan(objects::find(object).expect("object"), &conds, None).fetch
}

#[test]
fn subscriptions_are_listed_with_status_all_unless_a_status_is_pushed() {
    assert_eq!(run("subscriptions", vec![]), list(&[("status", "all")]));
    assert_eq!(
        run(
            "subscriptions",
            vec![Cond::new("customer", Op::Eq, t("cus_1"))]
        ),
        list(&[("customer", "cus_1"), ("status", "all")])
    );
    assert_eq!(
        run(
            "subscriptions",
            vec![Cond::new("status", Op::Eq, t("canceled"))]
        ),
        list(&[("status", "canceled")])
    );
    // `all` and `ended` are no subscription's status: not pushed, Postgres finds no row.
    for s in ["all", "ended"] {
        assert_eq!(
            run("subscriptions", vec![Cond::new("status", Op::Eq, t(s))]),
            list(&[("status", "all")]),
            "{s}"
        );
    }
    // Several statuses: one list of every subscription, filtered by Postgres.
    assert_eq!(
        run(
            "subscriptions",
            vec![Cond::any("status", vec![t("active"), t("trialing")])]
        ),
        list(&[("status", "all")])
    );
    // A retrieve returns a canceled subscription as it is.
    assert_eq!(
        run("subscriptions", vec![Cond::new("id", Op::Eq, t("sub_1"))]),
        Fetch::Retrieve(vec!["sub_1".into()])
    );
}

#[test]
fn a_required_parameter_missing_is_a_condition_to_add() {
    assert_eq!(
        run("setup_attempts", vec![]),
        Fetch::NeedsCondition("setup_intent")
    );
    assert_eq!(
        run(
            "subscription_items",
            vec![Cond::new("price", Op::Eq, t("price_1"))]
        ),
        Fetch::NeedsCondition("subscription")
    );
    // setup_attempts has no retrieve: an id alone is no way in.
    assert_eq!(
        run(
            "setup_attempts",
            vec![Cond::new("id", Op::Eq, t("setatt_1"))]
        ),
        Fetch::NeedsCondition("setup_intent")
    );
    assert_eq!(
        run(
            "setup_attempts",
            vec![
                Cond::new("id", Op::Eq, t("setatt_1")),
                Cond::new("setup_intent", Op::Eq, t("seti_1"))
            ]
        ),
        list(&[("setup_intent", "seti_1")])
    );
    // A subscription item is retrieved by id without its subscription.
    assert_eq!(
        run(
            "subscription_items",
            vec![Cond::new("id", Op::Eq, t("si_1"))]
        ),
        Fetch::Retrieve(vec!["si_1".into()])
    );
}

#[test]
fn a_required_parameter_in_a_list_is_one_request_per_value() {
    let Fetch::List(qs) = run(
        "subscription_items",
        vec![Cond::any(
            "subscription",
            vec![t("sub_2"), t("sub_1"), t("sub_2")],
        )],
    ) else {
        panic!("a list");
    };
    let sent: Vec<_> = qs.iter().map(|q| (q.params.clone(), q.paged)).collect();
    assert_eq!(
        sent,
        vec![
            (
                vec![("subscription".to_string(), "sub_1".to_string())],
                true
            ),
            (
                vec![("subscription".to_string(), "sub_2".to_string())],
                true
            ),
        ]
    );
    let contradict = vec![
        Cond::new("subscription", Op::Eq, t("sub_1")),
        Cond::new("subscription", Op::Eq, t("sub_2")),
    ];
    assert_eq!(run("subscription_items", contradict), Fetch::Nothing);
}

#[test]
fn retrieve_only_objects_need_an_id() {
    for o in ["tokens", "mandates"] {
        assert_eq!(run(o, vec![]), Fetch::NeedsCondition("id"), "{o}");
        assert_eq!(
            run(o, vec![Cond::new("type", Op::Eq, t("card"))]),
            Fetch::NeedsCondition("id")
        );
        assert_eq!(
            run(o, vec![Cond::any("id", vec![t("tok_2"), t("tok_1")])]),
            Fetch::Retrieve(vec!["tok_1".into(), "tok_2".into()])
        );
        // An id Stripe could not have: no row, no request, no error.
        assert_eq!(run(o, vec![Cond::new("id", Op::Eq, t(""))]), Fetch::Nothing);
    }
}

#[test]
fn the_balance_is_one_request_whatever_the_conditions() {
    assert_eq!(run("balance", vec![]), Fetch::Single);
    assert_eq!(
        run("balance", vec![Cond::new("currency", Op::Eq, t("usd"))]),
        Fetch::Single
    );
}

#[test]
fn new_filters_push_their_parameters() {
    use Op::*;
    let cases: Vec<(&str, Vec<Cond>, Fetch)> = vec![
        (
            "invoices",
            vec![
                Cond::new("customer", Eq, t("cus_1")),
                Cond::new("status", Eq, t("paid")),
                Cond::new("subscription", Eq, t("sub_1")),
            ],
            list(&[
                ("customer", "cus_1"),
                ("subscription", "sub_1"),
                ("status", "paid"),
            ]),
        ),
        (
            "invoices",
            vec![Cond::new("status", Eq, t("PAID"))],
            list(&[]),
        ),
        (
            "customers",
            vec![Cond::new("email", Eq, t("a@example.com"))],
            list(&[("email", "a@example.com")]),
        ),
        (
            "file_links",
            vec![Cond::new("expired", Eq, Scalar::Bool(false))],
            list(&[("expired", "false")]),
        ),
        (
            "payouts",
            vec![Cond::new(
                "arrival_date",
                Ge,
                Scalar::Time(1_700_000_000_000_000),
            )],
            list(&[("arrival_date[gte]", "1700000000")]),
        ),
        (
            "checkout/sessions",
            vec![Cond::new("subscription", Eq, t("sub_1"))],
            list(&[("subscription", "sub_1")]),
        ),
    ];
    for (object, conds, want) in cases {
        assert_eq!(run(object, conds.clone()), want, "{object} {conds:?}");
    }
}

#[test]
fn explain_shows_paths_below_the_base_and_conditions_to_add() {
    let base = Url::parse("https://api.stripe.com/v1").expect("url");
    let describe = |object: &str, conds: Vec<Cond>| {
        let spec = objects::find(object).expect("object");
        plan(spec, &conds, Some((5, 0))).describe(spec, &base)
    };
    assert_eq!(
        describe("checkout/sessions", vec![]),
        "GET /v1/checkout/sessions?limit=5 (then every page while has_more)"
    );
    assert_eq!(
        describe(
            "checkout/sessions",
            vec![Cond::new("id", Op::Eq, t("cs_1"))]
        ),
        "GET /v1/checkout/sessions/cs_1"
    );
    assert_eq!(describe("balance", vec![]), "GET /v1/balance");
    assert_eq!(
        describe("setup_attempts", vec![]),
        "none: setup_attempts needs a condition setup_intent = ..."
    );
}
