//! Every declared object checked against Stripe's API description (core/testdata/stripe_api.json,
//! made by scripts/stripe-api-extract): each column's path is in the object's current fixture (or,
//! for a field the 2026 shape dropped, its 2023 schema) and converts to the column's type; each
//! pushed parameter exists on that list endpoint with the right kind; access and ids match the
//! endpoints Stripe has.

use super::ALL;
use crate::spec::{Access, ColumnSpec, FilterKind, IdsStrategy, ObjectSpec};
use crate::value::extract;
use serde_json::Value;

fn api() -> Value {
    serde_json::from_str(include_str!("../../testdata/stripe_api.json")).unwrap_or(Value::Null)
}

/// A path's value in `fixture`, stepping into arrays by position; `None` when a step is absent.
fn walk<'a>(fixture: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(fixture, |v, key| match v {
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        other => other.get(*key),
    })
}

/// Where a column reads: in the fixture, or a field (two levels deep at most) only the 2023 schema
/// has.
fn path_known(fixture: &Value, schema_fields: &[Value], path: &[&str]) -> Result<(), String> {
    let dotted = path.join(".");
    if walk(fixture, path).is_some() || schema_fields.iter().any(|f| f.as_str() == Some(&dotted)) {
        return Ok(());
    }
    Err(format!("{dotted} is in neither the fixture nor the schema"))
}

/// The object a row is made of: the fixture itself, or the first entry of a single object's rows.
fn row_fixture(o: &ObjectSpec, fixture: &Value) -> Value {
    match o.access {
        Access::Single { rows, label } => {
            let mut row = walk(fixture, &[rows[0], "0"])
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(m) = row.as_object_mut() {
                m.insert(label.into(), Value::String(rows[0].into()));
            }
            row
        }
        _ => fixture.clone(),
    }
}

fn check_column(o: &ObjectSpec, c: &ColumnSpec, row: &Value, schema: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    for path in [c.path, c.fallback] {
        if !path.is_empty() {
            if let Err(e) = path_known(row, schema, path) {
                problems.push(format!("{}.{}: {e}", o.name, c.name));
            }
        }
    }
    if let Err(e) = extract(row, c) {
        problems.push(format!(
            "{}.{}: the fixture's value does not convert: {e}",
            o.name, c.name
        ));
    }
    problems
}

/// The spec's description of a list parameter, `name` possibly bracketed (`recurring[interval]`,
/// `lookup_keys[]`).
fn param<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(array) = name.strip_suffix("[]") {
        return list.get(array).filter(|p| p["type"] == "array");
    }
    match name.split_once('[') {
        Some((outer, inner)) => list.get(outer)?["properties"].get(inner.strip_suffix(']')?),
        None => list.get(name),
    }
}

fn check_filter(o: &ObjectSpec, kind: FilterKind, list: &Value) -> Vec<String> {
    let is = |name: &str, ty: &str| -> Result<&Value, String> {
        let p = param(list, name).ok_or_else(|| format!("{}: no parameter {name}", o.name))?;
        if p["type"] != ty {
            return Err(format!("{}: {name} is {}, not {ty}", o.name, p["type"]));
        }
        Ok(p)
    };
    let text = |name: &str| {
        // A free-text filter on a parameter Stripe checks against a fixed set would send values
        // Stripe rejects: such a parameter must be declared TextEnum.
        is(name, "string").and_then(|p| match p.get("enum") {
            Some(_) => Err(format!(
                "{}: {name} takes a fixed set: use TextEnum",
                o.name
            )),
            None => Ok(()),
        })
    };
    let r = match kind {
        FilterKind::TextEq(p) | FilterKind::TextEqEach(p) => text(p),
        FilterKind::TextEnum(p, values) => is(p, "string").and_then(|spec| {
            let allowed = spec["enum"].as_array().cloned().unwrap_or_default();
            match values.iter().find(|v| !allowed.iter().any(|a| a == *v)) {
                Some(v) => Err(format!("{}: {p} does not take {v}", o.name)),
                None => Ok(()),
            }
        }),
        FilterKind::BoolEq(p) => is(p, "boolean").map(|_| ()),
        FilterKind::Range(p) => is(p, "range").map(|_| ()),
        FilterKind::ArrayIn { param, .. } => is(param, "array").map(|_| ()),
        FilterKind::EventType { param, array, .. } => {
            text(param).and_then(|()| is(array, "array").map(|_| ()))
        }
    };
    r.err().into_iter().collect()
}

fn check_object(o: &ObjectSpec, api: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let endpoint = &api["endpoints"][o.endpoint];
    let object = &api["objects"][o.object_type];
    let fixture = &object["fixture"];
    if endpoint.is_null() || fixture.is_null() {
        return vec![format!(
            "{}: no endpoint {} or object {}",
            o.name, o.endpoint, o.object_type
        )];
    }
    if fixture["object"] != o.object_type {
        problems.push(format!(
            "{}: the fixture is a {}",
            o.name, fixture["object"]
        ));
    }
    let schema = object["schema_fields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let row = row_fixture(o, fixture);
    for c in o.columns {
        problems.extend(check_column(o, c, &row, &schema));
    }
    let list = &endpoint["list"];
    for f in o.filters {
        problems.extend(check_filter(o, f.kind, list));
    }
    for (p, v) in o.defaults {
        let ok = param(list, p).is_some_and(|s| {
            s["enum"]
                .as_array()
                .is_none_or(|e| e.iter().any(|a| a == v))
        });
        if !ok {
            problems.push(format!(
                "{}: default {p}={v} is not a value Stripe takes",
                o.name
            ));
        }
    }
    let required: Vec<&str> = endpoint["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let retrieve = endpoint["retrieve"] == true;
    let declared_required = match o.access {
        Access::List { required } => required.and_then(|c| o.filter(c)).map(|f| match f.kind {
            FilterKind::TextEqEach(p) => p,
            _ => "",
        }),
        _ => None,
    };
    let access_ok = match o.access {
        Access::List { .. } => {
            list.get("limit").is_some()
                && declared_required.into_iter().eq(required.iter().copied())
        }
        Access::RetrieveOnly => list.is_null() && retrieve,
        Access::Single { .. } => list.is_object() && list.get("limit").is_none() && !retrieve,
    };
    if !access_ok {
        problems.push(format!("{}: access {:?} does not match the endpoint (required {required:?}, retrieve {retrieve})", o.name, o.access));
    }
    let ids_ok = match o.ids {
        IdsStrategy::Retrieve => retrieve,
        IdsStrategy::ListParam { param: p, .. } => param(list, p).is_some(),
        IdsStrategy::Unsupported => !retrieve,
    };
    if !ids_ok {
        problems.push(format!(
            "{}: ids {:?} does not match the endpoint",
            o.name, o.ids
        ));
    }
    problems
}

#[test]
fn every_column_and_parameter_is_stripes() {
    let api = api();
    assert!(
        api["endpoints"].is_object(),
        "core/testdata/stripe_api.json"
    );
    let problems: Vec<String> = ALL.iter().flat_map(|o| check_object(o, &api)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_finds_what_is_wrong() {
    use crate::spec::FilterKind::*;
    use crate::{col, filter};
    static WRONG: ObjectSpec = ObjectSpec {
        name: "subscriptions",
        table: "subscriptions",
        endpoint: "subscriptions",
        object_type: "subscription",
        columns: &[
            col!("id", Text),
            col!("period", Timestamptz, ["current_period"]),
            col!("customer", Int8),
            col!("first", Text, ["items", "data", "1", "id"]),
        ],
        filters: &[
            filter!("id", TextEq("ids")),
            filter!("status"),
            filter!("customer", TextEnum("status", &["gone"])),
            filter!("created", BoolEq("created")),
        ],
        ids: IdsStrategy::Unsupported,
        access: Access::List {
            required: Some("id"),
        },
        defaults: &[("status", "everything")],
    };
    let problems = check_object(&WRONG, &api());
    for want in [
        "subscriptions.period: current_period is in neither",
        "subscriptions.customer: the fixture's value does not convert",
        "subscriptions.first: items.data.1.id is in neither",
        "subscriptions: no parameter ids",
        "subscriptions: status takes a fixed set",
        "subscriptions: status does not take gone",
        "subscriptions: created is \"range\", not boolean",
        "subscriptions: default status=everything",
        "subscriptions: access",
        "subscriptions: ids Unsupported",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(want)),
            "{want}: {problems:#?}"
        );
    }
}
