//! Stripe semantics over real HTTP: shapes, lists, filters, strictness, auth, writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{ids, start, Fx};
use fake_stripe::{Catalog, DEFAULT_API_KEY};
use serde_json::Value;

fn generated(n: usize, m: usize) -> Fx {
    start(Catalog::Generated {
        products: n,
        prices_per_product: m,
        seed: 42,
    })
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn json_type_ok(v: &Value, ty: &str) -> bool {
    match ty {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

/// Check each property against the 2023 schema (type, nullable, anyOf), plus the 2026 delta.
fn check_types(obj: &Value, schema: &Value, delta: &[(&str, &str, bool)]) {
    let props = schema["properties"].as_object().unwrap();
    for (k, v) in obj.as_object().unwrap() {
        if let Some((_, ty, nullable)) = delta.iter().find(|(n, _, _)| n == k) {
            assert!(
                (v.is_null() && *nullable) || json_type_ok(v, ty),
                "{k}: {v} is not {ty}"
            );
            continue;
        }
        let p = props.get(k).unwrap_or_else(|| panic!("{k} not in schema"));
        let nullable = p["nullable"].as_bool().unwrap_or(false);
        if v.is_null() {
            assert!(nullable, "{k} is null but not nullable");
            continue;
        }
        if let Some(ty) = p["type"].as_str() {
            assert!(json_type_ok(v, ty), "{k}: {v} is not {ty}");
        } else if let Some(any) = p["anyOf"].as_array() {
            let ok = any.iter().any(|alt| match alt["type"].as_str() {
                Some(ty) => json_type_ok(v, ty),
                None => v.is_object(),
            });
            assert!(ok, "{k}: {v} matches no anyOf");
        }
    }
}

fn check_product(p: &Value, spec: &Value) {
    let fx = &spec["fixtures_2026"]["product"];
    let mut want = keys(fx);
    want.insert("tax_details".into());
    assert_eq!(keys(p), want, "product key set");
    check_types(
        p,
        &spec["components"]["schemas"]["product"],
        &[
            ("marketing_features", "array", false),
            ("tax_details", "object", true),
            ("type", "string", false),
        ],
    );
    let ty = p["type"].as_str().unwrap();
    assert!(ty == "good" || ty == "service");
    assert!(p["id"].as_str().unwrap().starts_with("prod_"));
    assert_eq!(p["object"], "product");
    for f in p["marketing_features"].as_array().unwrap() {
        assert_eq!(keys(f), BTreeSet::from(["name".to_string()]));
    }
    if !p["package_dimensions"].is_null() {
        assert_eq!(
            keys(&p["package_dimensions"]),
            keys(&fx["package_dimensions"])
        );
    }
}

fn check_price(p: &Value, spec: &Value) {
    let fx = &spec["fixtures_2026"]["price"];
    assert_eq!(keys(p), keys(fx), "price key set");
    check_types(p, &spec["components"]["schemas"]["price"], &[]);
    assert!(p["id"].as_str().unwrap().starts_with("price_"));
    assert_eq!(p["object"], "price");
    if !p["recurring"].is_null() {
        assert_eq!(keys(&p["recurring"]), keys(&fx["recurring"]));
        assert_eq!(p["type"], "recurring");
        assert!(p["recurring"]["interval_count"].is_i64());
    } else {
        assert_eq!(p["type"], "one_time");
    }
    if let Some(a) = p["unit_amount"].as_i64() {
        assert_eq!(p["unit_amount_decimal"].as_str().unwrap(), a.to_string());
    }
}

#[test]
fn every_object_matches_2026_fixture_shape() {
    let spec = spec();
    for fx in [generated(150, 3), start(Catalog::Demo)] {
        let products = fx.all("products", "");
        let prices = fx.all("prices", "");
        assert!(!products.is_empty() && !prices.is_empty());
        for p in &products {
            check_product(p, &spec);
            let one = fx.get(&format!("products/{}", p["id"].as_str().unwrap()));
            assert_eq!(&one.body, p);
        }
        for p in &prices {
            check_price(p, &spec);
        }
    }
}

use common::spec;

#[test]
fn ids_look_like_stripe_and_are_deterministic() {
    let a = generated(20, 2).all("products", "");
    let b = generated(20, 2).all("products", "");
    assert_eq!(ids(&a), ids(&b));
    for id in ids(&a) {
        let rest = id.strip_prefix("prod_").unwrap();
        assert_eq!(rest.len(), 14);
        assert!(rest.chars().all(|c| c.is_ascii_alphanumeric()));
    }
    for id in ids(&generated(5, 2).all("prices", "")) {
        let rest = id.strip_prefix("price_").unwrap();
        assert_eq!(rest.len(), 24);
        assert!(rest.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}

#[test]
fn demo_catalog_contents() {
    let fx = start(Catalog::Demo);
    let products = fx.all("products", "");
    let names: Vec<&str> = products
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for n in ["Hobby", "Pro", "Team", "Legacy"] {
        assert!(names.contains(&n), "{n}");
    }
    let indexes: BTreeSet<&str> = products
        .iter()
        .filter_map(|p| p["metadata"]["index"].as_str())
        .collect();
    assert_eq!(indexes, BTreeSet::from(["0", "1", "2"]));
    assert_eq!(fx.all("products", "&active=false").len(), 1);
    let prices = fx.all("prices", "");
    assert!(prices.iter().any(|p| p["currency"] == "eur"));
    assert!(prices.iter().any(|p| p["type"] == "one_time"));
    assert!(prices.iter().any(|p| p["active"] == false));
    assert!(prices.iter().any(|p| p["lookup_key"].is_string()));
    for interval in ["month", "year"] {
        let r = fx.all(
            "prices",
            &format!("&recurring[interval]={interval}&currency=usd"),
        );
        assert!(r.len() >= 3, "{interval}");
    }
}

#[test]
fn error_bodies_match_error_schema() {
    let spec = spec();
    let fx = start(Catalog::Demo);
    let props = spec["components"]["schemas"]["api_errors"]["properties"]
        .as_object()
        .unwrap()
        .clone();
    let errs = [
        fx.get("products?foo=1"),
        fx.get("products?limit=abc"),
        fx.get("products/prod_nope"),
        fx.get("prices/price_nope"),
        common::send(fx.http.get(fx.server.base_url() + "/products")),
        fx.post("products", &[]),
    ];
    for e in &errs {
        assert!(e.status >= 400);
        assert_eq!(keys(&e.body), BTreeSet::from(["error".to_string()]));
        let inner = e.body["error"].as_object().unwrap();
        for (k, v) in inner {
            let ty = props
                .get(k)
                .unwrap_or_else(|| panic!("{k} not in api_errors"))["type"]
                .as_str()
                .unwrap();
            assert!(json_type_ok(v, ty));
        }
        let t = inner["type"].as_str().unwrap();
        assert!([
            "api_error",
            "card_error",
            "idempotency_error",
            "invalid_request_error"
        ]
        .contains(&t));
        assert!(!inner["message"].as_str().unwrap().is_empty());
    }
}

#[test]
fn default_limit_bounds_and_newest_first() {
    let fx = generated(30, 1);
    let r = fx.get("products");
    assert_eq!(r.data().len(), 10);
    assert!(r.has_more());
    assert_eq!(r.body["object"], "list");
    assert_eq!(r.body["url"], "/v1/products");
    let all = fx.get("products?limit=100");
    assert_eq!(all.data().len(), 30);
    assert!(!all.has_more());
    let created: Vec<i64> = all
        .data()
        .iter()
        .map(|p| p["created"].as_i64().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] > w[1]),
        "strictly newest first"
    );
    assert_eq!(fx.get("products?limit=1").data().len(), 1);
    let r = fx.get("products?limit=101");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.err_message(),
        "This value must be less than or equal to 100 (it currently is 101)."
    );
    assert_eq!(r.err_param(), "limit");
    let r = fx.get("products?limit=0");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.err_message(),
        "This value must be greater than or equal to 1 (it currently is 0)."
    );
}

#[test]
fn starting_after_chain_visits_each_object_once() {
    let fx = generated(30, 2);
    let full = ids(fx.get("products?limit=100").data());
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("products?limit=7&starting_after={c}"),
            None => "products?limit=7".to_string(),
        };
        let r = fx.get(&q);
        pages += 1;
        seen.extend(r.ids());
        if !r.has_more() {
            break;
        }
        cursor = seen.last().cloned();
    }
    assert_eq!(pages, 5);
    assert_eq!(seen, full);
    // prices too, with an exact multiple of the page size: last page has has_more=false
    let prices = fx.all("prices", "");
    assert_eq!(prices.len(), 60);
    let uniq: BTreeSet<String> = ids(&prices).into_iter().collect();
    assert_eq!(uniq.len(), 60);
    let r = fx.get(&format!(
        "prices?limit=10&starting_after={}",
        ids(&prices)[49]
    ));
    assert_eq!(r.data().len(), 10);
    assert!(!r.has_more());
}

#[test]
fn ending_before_pages_backwards() {
    let fx = generated(30, 1);
    let full = ids(fx.get("products?limit=100").data());
    let r = fx.get(&format!("products?limit=5&ending_before={}", full[20]));
    assert_eq!(r.ids(), full[15..20].to_vec());
    assert!(r.has_more());
    let r = fx.get(&format!("products?limit=5&ending_before={}", full[3]));
    assert_eq!(r.ids(), full[0..3].to_vec());
    assert!(!r.has_more());
    let r = fx.get(&format!("products?limit=5&ending_before={}", full[0]));
    assert!(r.data().is_empty());
    assert!(!r.has_more());
    // walk all the way back from the end
    let mut back = Vec::new();
    let mut cursor = full[29].clone();
    loop {
        let r = fx.get(&format!("products?limit=4&ending_before={cursor}"));
        let mut page = r.ids();
        page.extend(back);
        back = page;
        if !r.has_more() {
            break;
        }
        cursor = back[0].clone();
    }
    assert_eq!(back, full[0..29].to_vec());
}

#[test]
fn unknown_cursor_is_resource_missing() {
    let fx = generated(5, 1);
    for p in ["starting_after", "ending_before"] {
        let r = fx.get(&format!("products?{p}=prod_doesnotexist"));
        assert_eq!(r.status, 400);
        assert_eq!(r.body["error"]["code"], "resource_missing");
        assert_eq!(r.err_param(), p);
    }
    let r = fx.get("prices?starting_after=price_nope");
    assert_eq!(r.status, 400);
    assert_eq!(r.err_message(), "No such price: 'price_nope'");
}

#[test]
fn ids_filter_both_forms_and_cursor_conflict() {
    let fx = generated(20, 1);
    let full = ids(fx.get("products?limit=100").data());
    let r = fx.get(&format!(
        "products?ids[]={}&ids[]={}&ids[]=prod_unknown",
        full[7], full[2]
    ));
    assert_eq!(r.ids(), vec![full[2].clone(), full[7].clone()]);
    let r = fx.get(&format!("products?ids[0]={}&ids[1]={}", full[9], full[4]));
    assert_eq!(r.ids(), vec![full[4].clone(), full[9].clone()]);
    let r = fx.get(&format!(
        "products?ids[]={}&ids[]={}&limit=1",
        full[9], full[4]
    ));
    assert_eq!(r.ids(), vec![full[4].clone()]);
    assert!(r.has_more());
    for c in ["starting_after", "ending_before"] {
        let r = fx.get(&format!("products?ids[]={}&{c}={}", full[1], full[0]));
        assert_eq!(r.status, 400, "{c}");
        assert_eq!(r.err_param(), "ids");
    }
}

fn check_filter(fx: &Fx, endpoint: &str, query: &str, pred: impl Fn(&Value) -> bool) {
    let everything = fx.all(endpoint, "");
    let want: Vec<String> = ids(&everything
        .into_iter()
        .filter(|o| pred(o))
        .collect::<Vec<_>>());
    let got = ids(&fx.all(endpoint, &format!("&{query}")));
    assert!(!want.is_empty(), "{query} selects nothing: weak test");
    assert_eq!(got, want, "{endpoint}?{query}");
}

#[test]
fn product_filters() {
    let fx = generated(120, 1);
    check_filter(&fx, "products", "active=true", |p| p["active"] == true);
    check_filter(&fx, "products", "active=false", |p| p["active"] == false);
    check_filter(&fx, "products", "type=good", |p| p["type"] == "good");
    check_filter(&fx, "products", "type=service", |p| p["type"] == "service");
    check_filter(&fx, "products", "shippable=true", |p| {
        p["shippable"] == true
    });
    check_filter(&fx, "products", "shippable=false", |p| {
        p["shippable"] == false
    });
    let url = fx
        .all("products", "")
        .into_iter()
        .find_map(|p| p["url"].as_str().map(str::to_string))
        .unwrap();
    check_filter(&fx, "products", &format!("url={url}"), |p| {
        p["url"] == url.as_str()
    });
    let all = fx.all("products", "");
    let t = all[40]["created"].as_i64().unwrap();
    check_filter(&fx, "products", &format!("created={t}"), |p| {
        p["created"] == t
    });
    check_filter(&fx, "products", &format!("created[gt]={t}"), |p| {
        p["created"].as_i64().unwrap() > t
    });
    check_filter(&fx, "products", &format!("created[gte]={t}"), |p| {
        p["created"].as_i64().unwrap() >= t
    });
    check_filter(&fx, "products", &format!("created[lt]={t}"), |p| {
        p["created"].as_i64().unwrap() < t
    });
    check_filter(
        &fx,
        "products",
        &format!("created[lte]={t}&created[gt]={}", t - 200),
        |p| {
            let c = p["created"].as_i64().unwrap();
            c <= t && c > t - 200
        },
    );
    check_filter(&fx, "products", "active=true&type=good", |p| {
        p["active"] == true && p["type"] == "good"
    });
}

#[test]
fn price_filters() {
    let fx = generated(60, 4);
    let prod = fx.all("products", "")[5]["id"]
        .as_str()
        .unwrap()
        .to_string();
    check_filter(&fx, "prices", "active=false", |p| p["active"] == false);
    check_filter(&fx, "prices", "currency=eur", |p| p["currency"] == "eur");
    check_filter(&fx, "prices", "currency=USD", |p| p["currency"] == "usd");
    check_filter(&fx, "prices", &format!("product={prod}"), |p| {
        p["product"] == prod.as_str()
    });
    check_filter(&fx, "prices", "type=one_time", |p| p["type"] == "one_time");
    check_filter(&fx, "prices", "type=recurring", |p| {
        p["type"] == "recurring"
    });
    for i in ["month", "year"] {
        check_filter(&fx, "prices", &format!("recurring[interval]={i}"), |p| {
            p["recurring"]["interval"] == i
        });
    }
    check_filter(&fx, "prices", "recurring[usage_type]=licensed", |p| {
        p["recurring"]["usage_type"] == "licensed"
    });
    let t = fx.all("prices", "")[33]["created"].as_i64().unwrap();
    check_filter(&fx, "prices", &format!("created[lte]={t}"), |p| {
        p["created"].as_i64().unwrap() <= t
    });
    // lookup keys, both array forms
    let keyed: Vec<Value> = fx
        .all("prices", "")
        .into_iter()
        .filter(|p| p["lookup_key"].is_string())
        .collect();
    assert!(keyed.len() >= 3);
    let k = |i: usize| keyed[i]["lookup_key"].as_str().unwrap().to_string();
    let r = fx.get(&format!(
        "prices?lookup_keys[]={}&lookup_keys[]={}",
        k(2),
        k(0)
    ));
    assert_eq!(r.ids(), ids(&[keyed[0].clone(), keyed[2].clone()]));
    let r = fx.get(&format!(
        "prices?lookup_keys[0]={}&lookup_keys[1]={}",
        k(1),
        k(2)
    ));
    assert_eq!(r.ids(), ids(&[keyed[1].clone(), keyed[2].clone()]));
    let eleven: String = (0..11).map(|i| format!("lookup_keys[]=k{i}&")).collect();
    let r = fx.get(&format!("prices?{eleven}"));
    assert_eq!(r.status, 400);
    assert_eq!(r.err_param(), "lookup_keys");
    // metered price with a meter, then filter on recurring[meter] and usage_type
    let m = fx.post(
        "prices",
        &[
            ("currency", "usd"),
            ("product", &prod),
            ("unit_amount", "3"),
            ("recurring[interval]", "month"),
            ("recurring[usage_type]", "metered"),
            ("recurring[meter]", "mtr_123"),
        ],
    );
    assert_eq!(m.status, 200, "{:?}", m.body);
    let r = fx.get("prices?recurring[meter]=mtr_123");
    assert_eq!(r.ids(), vec![m.body["id"].as_str().unwrap().to_string()]);
    let r = fx.get("prices?recurring[usage_type]=metered");
    assert_eq!(r.ids(), vec![m.body["id"].as_str().unwrap().to_string()]);
    assert!(fx
        .get("prices?recurring[meter]=mtr_other")
        .data()
        .is_empty());
}

#[test]
fn strict_parameter_validation() {
    let fx = generated(3, 1);
    let r = fx.get("products?foo=1");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        serde_json::json!({"error":{"code":"parameter_unknown","doc_url":"https://stripe.com/docs/error-codes/parameter-unknown","message":"Received unknown parameter: foo","param":"foo","type":"invalid_request_error"}})
    );
    let cases: &[(&str, &str, &str)] = &[
        ("products?limit=abc", "limit", "Invalid integer: abc"),
        ("products?active=maybe", "active", "Invalid boolean: maybe"),
        (
            "prices?type=bogus",
            "type",
            "Invalid type: must be one of one_time or recurring",
        ),
        (
            "products?type=bogus",
            "type",
            "Invalid type: must be one of good or service",
        ),
        (
            "products?created[gt]=soon",
            "created[gt]",
            "Invalid integer: soon",
        ),
        ("products?created=x", "created", "Invalid integer: x"),
        (
            "prices?recurring[interval]=fortnight",
            "recurring[interval]",
            "",
        ),
        (
            "prices?recurring[usage_type]=x",
            "recurring[usage_type]",
            "",
        ),
    ];
    for (q, param, msg) in cases {
        let r = fx.get(q);
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.body["error"]["type"], "invalid_request_error", "{q}");
        assert_eq!(r.err_param(), *param, "{q}");
        if !msg.is_empty() {
            assert_eq!(r.err_message(), *msg, "{q}");
        }
    }
    for (q, param) in [
        ("products?created[foo]=1", "created[foo]"),
        ("prices?recurring[foo]=1", "recurring[foo]"),
        ("prices?ids[]=x", "ids"),
        ("products?lookup_keys[]=x", "lookup_keys"),
        ("products/prod_x?limit=1", "limit"),
    ] {
        let r = fx.get(q);
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.body["error"]["code"], "parameter_unknown", "{q}");
        assert_eq!(r.err_param(), param, "{q}");
    }
    let r = fx.get("products?limit=1&limit=2");
    assert_eq!(r.status, 400);
    assert_eq!(r.err_param(), "limit");
    let r = fx.get("products?active=true&active=false");
    assert_eq!(r.status, 400);
    // expand[] is accepted
    assert_eq!(fx.get("prices?expand[]=data.product").status, 200);
    assert_eq!(fx.get("products?expand[0]=data.default_price").status, 200);
}

#[test]
fn authentication() {
    let fx = start(Catalog::Demo);
    let url = fx.server.base_url() + "/products";
    let r = common::send(fx.http.get(&url));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        serde_json::json!({"error":{"message":"You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').","type":"invalid_request_error"}})
    );
    let r = common::send(fx.http.get(&url).bearer_auth("sk_test_abcdefgh1234"));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        serde_json::json!({"error":{"message":"Invalid API Key provided: sk_test_********1234","type":"invalid_request_error"}})
    );
    let r = common::send(
        fx.http
            .get(&url)
            .basic_auth("sk_test_wrong_000000009999", None::<&str>),
    );
    assert_eq!(r.status, 401);
    assert!(r.err_message().ends_with("9999"));
    assert!(!r.err_message().contains("wrong"));
    let r = common::send(fx.http.get(&url).bearer_auth(DEFAULT_API_KEY));
    assert_eq!(r.status, 200);
    let r = common::send(fx.http.get(&url).basic_auth(DEFAULT_API_KEY, None::<&str>));
    assert_eq!(r.status, 200);
    let r = common::send(fx.http.get(&url).basic_auth(DEFAULT_API_KEY, Some("")));
    assert_eq!(r.status, 200);
}

#[test]
fn retrieve_and_404_bodies() {
    let fx = start(Catalog::Demo);
    let r = fx.get("products/prod_x");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        serde_json::json!({"error":{"code":"resource_missing","doc_url":"https://stripe.com/docs/error-codes/resource-missing","message":"No such product: 'prod_x'","param":"id","type":"invalid_request_error"}})
    );
    let r = fx.get("prices/x");
    assert_eq!(r.status, 404);
    assert_eq!(r.err_message(), "No such price: 'x'");
    assert_eq!(r.err_param(), "price");
    let price = fx.get("prices?limit=1").data()[0].clone();
    let r = fx.get(&format!("prices/{}", price["id"].as_str().unwrap()));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, price);
    for q in [
        "nonsense",
        "nonsense?limit=1&limit=2",
        "products/a/b",
        "prices/",
    ] {
        let r = fx.get(q);
        assert_eq!(r.status, 404, "{q}");
        assert!(
            r.err_message().starts_with("Unrecognized request URL"),
            "{q}"
        );
    }
    assert_eq!(fx.delete("prices/price_x").status, 404);
}

#[test]
fn create_update_archive_delete() {
    let fx = start(Catalog::Demo);
    let spec = spec();
    let before_newest = fx.get("products?limit=1").data()[0]["created"]
        .as_i64()
        .unwrap();
    let p = fx.post(
        "products",
        &[
            ("name", "Widget & Co"),
            ("description", "A widget"),
            ("metadata[color]", "blue"),
            ("metadata[size]", "L"),
            ("images[0]", "https://example.com/a.png"),
            ("marketing_features[0][name]", "Fast"),
            ("marketing_features[1][name]", "Cheap"),
            ("package_dimensions[height]", "1"),
            ("package_dimensions[length]", "2"),
            ("package_dimensions[weight]", "3.5"),
            ("package_dimensions[width]", "4"),
            ("shippable", "true"),
            ("type", "good"),
            ("unit_label", "box"),
        ],
    );
    assert_eq!(p.status, 200, "{:?}", p.body);
    check_product(&p.body, &spec);
    let pid = p.body["id"].as_str().unwrap().to_string();
    assert_eq!(p.body["name"], "Widget & Co");
    assert_eq!(p.body["metadata"]["color"], "blue");
    assert_eq!(p.body["images"][0], "https://example.com/a.png");
    assert_eq!(p.body["marketing_features"][1]["name"], "Cheap");
    assert_eq!(p.body["package_dimensions"]["weight"], 3.5);
    assert!(p.body["created"].as_i64().unwrap() > before_newest);
    // newest first: it is now the head of the list
    assert_eq!(fx.get("products?limit=1").ids(), vec![pid.clone()]);
    // custom id, and duplicate id
    let c = fx.post("products", &[("name", "Custom"), ("id", "prod_custom123")]);
    assert_eq!(c.body["id"], "prod_custom123");
    let c2 = fx.post("products", &[("name", "Custom"), ("id", "prod_custom123")]);
    assert_eq!(c2.status, 400);
    assert!(c.body["created"].as_i64().unwrap() > p.body["created"].as_i64().unwrap());

    // update: metadata[k]= deletes k, sets updated
    let u = fx.post(
        &format!("products/{pid}"),
        &[
            ("metadata[color]", ""),
            ("metadata[new]", "yes"),
            ("name", "Widget 2"),
            ("description", ""),
        ],
    );
    assert_eq!(u.status, 200, "{:?}", u.body);
    assert_eq!(u.body["name"], "Widget 2");
    assert!(u.body["description"].is_null());
    assert_eq!(
        u.body["metadata"],
        serde_json::json!({"size": "L", "new": "yes"})
    );
    assert!(u.body["updated"].as_i64().unwrap() >= p.body["updated"].as_i64().unwrap());
    assert_eq!(fx.get(&format!("products/{pid}")).body, u.body);

    // prices
    let pr = fx.post(
        "prices",
        &[
            ("currency", "usd"),
            ("product", &pid),
            ("unit_amount", "1999"),
            ("recurring[interval]", "month"),
            ("recurring[interval_count]", "3"),
            ("recurring[trial_period_days]", "14"),
            ("lookup_key", "widget_quarterly"),
            ("nickname", "Quarterly"),
            ("metadata[plan]", "q"),
            ("tax_behavior", "exclusive"),
        ],
    );
    assert_eq!(pr.status, 200, "{:?}", pr.body);
    check_price(&pr.body, &spec);
    assert_eq!(pr.body["recurring"]["interval_count"], 3);
    assert_eq!(pr.body["recurring"]["trial_period_days"], 14);
    assert_eq!(pr.body["unit_amount_decimal"], "1999");
    assert_eq!(pr.body["type"], "recurring");
    let price_id = pr.body["id"].as_str().unwrap().to_string();
    let one_time = fx.post(
        "prices",
        &[
            ("currency", "EUR"),
            ("product", &pid),
            ("unit_amount_decimal", "12.5"),
            ("transform_quantity[divide_by]", "10"),
            ("transform_quantity[round]", "up"),
        ],
    );
    assert_eq!(one_time.status, 200, "{:?}", one_time.body);
    check_price(&one_time.body, &spec);
    assert_eq!(one_time.body["type"], "one_time");
    assert_eq!(one_time.body["currency"], "eur");
    assert!(one_time.body["unit_amount"].is_null());
    assert_eq!(one_time.body["unit_amount_decimal"], "12.5");
    // duplicate lookup key is refused unless transferred
    let dup = fx.post(
        "prices",
        &[
            ("currency", "usd"),
            ("product", &pid),
            ("unit_amount", "1"),
            ("lookup_key", "widget_quarterly"),
        ],
    );
    assert_eq!(dup.status, 400);
    assert_eq!(dup.err_param(), "lookup_key");
    // price update
    let pu = fx.post(
        &format!("prices/{price_id}"),
        &[
            ("nickname", "Q"),
            ("metadata[plan]", ""),
            ("lookup_key", "wq2"),
            ("active", "false"),
        ],
    );
    assert_eq!(pu.status, 200, "{:?}", pu.body);
    assert_eq!(pu.body["nickname"], "Q");
    assert_eq!(pu.body["metadata"], serde_json::json!({}));
    assert_eq!(pu.body["active"], false);
    assert_eq!(
        fx.get("prices?lookup_keys[]=wq2").ids(),
        vec![price_id.clone()]
    );
    assert!(fx
        .get("prices?lookup_keys[]=widget_quarterly")
        .data()
        .is_empty());
    let bad = fx.post(&format!("prices/{price_id}"), &[("unit_amount", "5")]);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["code"], "parameter_unknown");

    // archive the product
    let a = fx.post(&format!("products/{pid}"), &[("active", "false")]);
    assert_eq!(a.body["active"], false);
    assert!(fx
        .all("products", "&active=false")
        .iter()
        .any(|p| p["id"] == pid.as_str()));
    assert!(!fx
        .all("products", "&active=true")
        .iter()
        .any(|p| p["id"] == pid.as_str()));

    // delete: refused while it has prices; fine for a product without
    let d = fx.delete(&format!("products/{pid}"));
    assert_eq!(d.status, 400);
    let d = fx.delete("products/prod_custom123");
    assert_eq!(d.status, 200);
    assert_eq!(
        d.body,
        serde_json::json!({"id": "prod_custom123", "object": "product", "deleted": true})
    );
    assert_eq!(fx.get("products/prod_custom123").status, 404);
    assert_eq!(fx.delete("products/prod_custom123").status, 404);
    assert!(!fx
        .all("products", "")
        .iter()
        .any(|p| p["id"] == "prod_custom123"));
}

#[test]
fn write_validation() {
    let fx = start(Catalog::Demo);
    let r = fx.post("products", &[("description", "no name")]);
    assert_eq!(r.status, 400);
    assert_eq!(r.err_param(), "name");
    let r = fx.post("products", &[("name", "x"), ("bogus", "1")]);
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "parameter_unknown");
    let r = fx.post("products", &[("name", "x"), ("type", "thing")]);
    assert_eq!(r.status, 400);
    assert_eq!(r.err_param(), "type");
    let r = fx.post(
        "prices",
        &[("product", "prod_DemoPro0000000"), ("unit_amount", "1")],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.err_param(), "currency");
    let r = fx.post("prices", &[("currency", "usd"), ("unit_amount", "1")]);
    assert_eq!(r.err_param(), "product");
    let r = fx.post(
        "prices",
        &[
            ("currency", "usd"),
            ("product", "prod_nope"),
            ("unit_amount", "1"),
        ],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "resource_missing");
    let pro = fx
        .all("products", "")
        .into_iter()
        .find(|p| p["name"] == "Pro")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = fx.post(
        "prices",
        &[
            ("currency", "usd"),
            ("product", &pro),
            ("unit_amount", "abc"),
        ],
    );
    assert_eq!(r.err_message(), "Invalid integer: abc");
    let r = fx.post(
        "prices",
        &[
            ("currency", "usd"),
            ("product", &pro),
            ("unit_amount", "1"),
            ("recurring[interval]", "decade"),
        ],
    );
    assert_eq!(r.err_param(), "recurring[interval]");
    let r = fx.post(
        "prices",
        &[
            ("currency", "usd"),
            ("product", &pro),
            ("unit_amount", "1"),
            ("recurring[aggregate_usage]", "sum"),
            ("recurring[interval]", "month"),
        ],
    );
    assert_eq!(r.err_param(), "recurring[aggregate_usage]");
    let r = fx.post("prices", &[("currency", "usd"), ("product", &pro)]);
    assert_eq!(r.status, 400);
    assert_eq!(r.err_param(), "unit_amount");
    assert_eq!(
        fx.post("products/prod_missing", &[("name", "x")]).status,
        404
    );
    assert_eq!(
        fx.post("prices/price_missing", &[("nickname", "x")]).status,
        404
    );
}

#[test]
fn request_id_on_every_response() {
    let fx = start(Catalog::Demo);
    let mut rs = vec![
        fx.get("products"),
        fx.get("products?foo=1"),
        fx.get("products/prod_nope"),
        common::send(fx.http.get(fx.server.base_url() + "/products")),
        fx.post("products", &[("name", "x")]),
        fx.control("GET", "/__log", None),
        fx.control("DELETE", "/__log", None),
        fx.control("POST", "/__faults", Some(serde_json::json!({"rules": []}))),
        fx.control("POST", "/__reset", Some(serde_json::json!({}))),
        fx.control("GET", "/__nothing", None),
    ];
    fx.faults(serde_json::json!({"rules":[{"kind":"status","status":503}]}));
    rs.push(fx.get("products"));
    let mut seen = BTreeSet::new();
    for r in &rs {
        let id = r.header("request-id").expect("Request-Id header");
        assert!(id.starts_with("req_") && id.len() > 8, "{id}");
        seen.insert(id);
    }
    assert_eq!(seen.len(), rs.len(), "request ids are unique");
}

#[test]
fn generates_100k_products_quickly() {
    let t = std::time::Instant::now();
    let fx = start(Catalog::Generated {
        products: 100_000,
        prices_per_product: 3,
        seed: 1,
    });
    let built = t.elapsed();
    assert_eq!(fx.server.counts(), (100_000, 300_000));
    // debug builds are ~10x slower than release; keep a generous bound
    assert!(built.as_secs() < 30, "generation took {built:?}");
    // deep cursor page is O(page)
    let all_first = fx.get("products?limit=100");
    let t = std::time::Instant::now();
    let mut cursor = all_first.ids()[99].clone();
    for _ in 0..20 {
        let r = fx.get(&format!("products?limit=100&starting_after={cursor}"));
        assert_eq!(r.data().len(), 100);
        cursor = r.ids()[99].clone();
    }
    assert!(t.elapsed().as_secs() < 10);
}
