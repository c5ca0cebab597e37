//! sql/objects.sql, generated from the object declarations (core/src/objects): the objects and
//! their columns as SQL lists, then the functions over them (core/src/objects_sql_functions.sql),
//! so that the SQL-only build reads Stripe's JSON exactly as the foreign tables do.

use crate::objects::ALL;
use crate::spec::{quote_literal, Access, ColType, ColumnSpec, IdsStrategy, ObjectSpec};
use std::fmt::Write;

/// The command that rewrites sql/objects.sql from the declarations.
pub const REGENERATE: &str = "STRIPE_FDW_REGEN=1 cargo test -p stripe_fdw_core objects_sql";

/// Where the generated file is checked in, from the workspace root.
pub const PATH: &str = "sql/objects.sql";

/// The hand-written functions over the generated lists.
const FUNCTIONS: &str = include_str!("objects_sql_functions.sql");

/// The first of Stripe's times (Unix seconds) a column can hold: Postgres' first timestamp,
/// 4714-11-24 00:00:00 BC.
pub const FIRST_SECOND: i64 = -210_866_803_200;

/// The last one: chrono's last second (+262142-12-31 23:59:59), before Postgres' last timestamp
/// (294276 AD); a later one is out of range for the foreign table (crate::pgtime), so here too.
pub const LAST_SECOND: i64 = 8_210_266_876_799;

/// A `text[]` literal: `'{"items","data","0"}'::pg_catalog.text[]`.
fn text_array(items: &[&str]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!(
        "{}::pg_catalog.text[]",
        quote_literal(&format!("{{{}}}", quoted.join(",")))
    )
}

/// A JSON string, as serde writes it (for the list defaults).
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Does a scan with no condition read every object (a plain list, or the one balance)?
fn listable(o: &ObjectSpec) -> bool {
    matches!(
        o.access,
        Access::List { required: None } | Access::Single { .. }
    )
}

fn kind_row(o: &ObjectSpec) -> String {
    let (ids, ids_max) = match o.ids {
        IdsStrategy::ListParam { param, max } => (quote_literal(param), max.to_string()),
        IdsStrategy::Retrieve => ("'retrieve'".to_string(), "null".to_string()),
        IdsStrategy::Unsupported => ("null".to_string(), "null".to_string()),
    };
    let defaults: Vec<String> = o
        .defaults
        .iter()
        .map(|(k, v)| format!("{}: {}", json_string(k), json_string(v)))
        .collect();
    format!(
        "({}, {}, {}, {}, {}, {}::pg_catalog.jsonb, {}, {}::pg_catalog.int4)",
        quote_literal(o.name),
        quote_literal(o.object_type),
        quote_literal(o.endpoint),
        listable(o),
        ids,
        quote_literal(&format!("{{{}}}", defaults.join(", "))),
        quote_literal(o.table),
        ids_max
    )
}

fn column_row(o: &ObjectSpec, c: &ColumnSpec, ord: usize) -> String {
    format!(
        "({}, {}, {}, {}, {}, {})",
        quote_literal(o.name),
        quote_literal(c.name),
        quote_literal(c.ty.sql_name()),
        text_array(c.path),
        text_array(c.fallback),
        ord
    )
}

/// Where a column's value is in `p_obj`: `p_obj -> 'key'`, `p_obj #> '{a,b}'`, or the whole object.
fn at(path: &[&str]) -> String {
    match path {
        [] => "p_obj".to_string(),
        [key] => format!("p_obj -> {}", quote_literal(key)),
        _ => format!("p_obj #> {}", text_array(path)),
    }
}

/// The JSON value of one column of `p_obj`, converted by its type's `stripe_fdw._cell_*`.
fn cell(c: &ColumnSpec) -> String {
    let value = if c.fallback.is_empty() {
        at(c.path)
    } else {
        format!(
            "coalesce(nullif({}, 'null'::pg_catalog.jsonb), {})",
            at(c.path),
            at(c.fallback)
        )
    };
    let helper = match c.ty {
        ColType::Jsonb => return value,
        ColType::Text => "_cell_text",
        ColType::Bool => "_cell_bool",
        ColType::Int8 => "_cell_int8",
        ColType::Numeric => "_cell_numeric",
        ColType::Timestamptz => "_cell_timestamptz",
        ColType::TextArray => "_cell_text_array",
    };
    format!("stripe_fdw.{helper}({}, {value})", quote_literal(c.name))
}

/// `stripe_fdw._object_row`: one branch per object, one `_cell_*` per column.
fn object_row() -> String {
    let mut out = String::from(
        r#"-- One Stripe object (p_obj, as Stripe sent it) as the row of the foreign table of p_object (its
-- `object` option): a JSON object with one key per column, each value converted as the foreign
-- table converts it (core/src/value.rs, by the stripe_fdw._cell_* above), so that
--   jsonb_populate_record(null::<foreign table>, stripe_fdw._object_row(<object>, <obj>))
-- is the row the foreign table shows. A value is read at the column's path, or at its fallback
-- when that is missing or null; attrs is the whole object. A value of the wrong shape is the
-- foreign table's error (HV004, naming the column). No NUL character needs refusing: jsonb cannot
-- hold one (its input refuses \u0000). A balance row is one entry of its `available` or
-- `pending`, with "balance_type" set to that name, as the foreign table's.
-- Generated as one branch per object rather than read from stripe_fdw._object_columns() at each
-- call: reading the list costs an executor run per call (10,000 prices: 4 s against 0.4 s).
create function stripe_fdw._object_row(p_object text, p_obj jsonb) returns jsonb
language plpgsql stable strict parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.jsonb_typeof(p_obj) <> 'object' then
        return stripe_fdw._object_bad_value('attrs', 'a JSON object', p_obj);
    end if;
    case p_object
"#,
    );
    for o in ALL {
        let cells: Vec<String> = o
            .columns
            .iter()
            .map(|c| format!("            {}, {}", quote_literal(c.name), cell(c)))
            .collect();
        let _ = writeln!(
            out,
            "    when {} then
        return pg_catalog.jsonb_build_object(
{});",
            quote_literal(o.name),
            cells.join(
                ",
"
            )
        );
    }
    out.push_str(
        "    else
        return stripe_fdw._object_unknown(p_object);
    end case;
end
$$;
",
    );
    out
}

/// The whole of sql/objects.sql.
pub fn objects_sql() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- GENERATED by core/src/objects_sql_gen.rs from core/src/objects/*.rs and \
         core/src/objects_sql_functions.sql: do not edit.\n-- Regenerate: {REGENERATE}"
    );
    out.push_str(
        "--
-- The Stripe objects stripe_fdw knows and how one of Stripe's JSON objects becomes one row of its
-- foreign table, for SQL that is handed Stripe's JSON (the hosted build, fed by an Edge Function).

create schema if not exists stripe_fdw;

-- Every object, in IMPORT FOREIGN SCHEMA order: its `object` option, Stripe's `object` field, the
-- path below /v1, whether a scan with no condition reads all of them, how a set of ids is read
-- ('ids[]': one list request with up to ids_max of them; 'retrieve': one request each; null: not
-- at all), the parameters every list request sends unless it sets them itself, and the foreign
-- table IMPORT FOREIGN SCHEMA makes of it.
create function stripe_fdw._object_kinds()
returns table (object text, object_type text, endpoint text, listable bool, ids text,
               list_defaults jsonb, table_name text, ids_max int)
language sql immutable parallel safe
set search_path = pg_catalog, pg_temp
as $$
    values
",
    );
    let kinds: Vec<String> = ALL.iter().map(|o| format!("    {}", kind_row(o))).collect();
    out.push_str(&kinds.join(",\n"));
    out.push_str(
        "
$$;

-- Every column of every object's foreign table, in order (ord from 1): its SQL type as the table
-- declares it (format_type's spelling), the path of its value in Stripe's object ('{}': the
-- whole object; a number steps into an array) and the path read when that one is missing or
-- null ('{}': none).
create function stripe_fdw._object_columns()
returns table (object text, col text, typ text, path text[], fallback text[], ord int)
language sql immutable parallel safe
set search_path = pg_catalog, pg_temp
as $$
    values
",
    );
    let mut cols = Vec::new();
    for o in ALL {
        for (i, c) in o.columns.iter().enumerate() {
            cols.push(format!("    {}", column_row(o, c, i + 1)));
        }
    }
    out.push_str(&cols.join(",\n"));
    out.push_str("\n$$;\n\n");
    out.push_str(
        &FUNCTIONS
            .replace("{{FIRST_SECOND}}", &FIRST_SECOND.to_string())
            .replace("{{LAST_SECOND}}", &LAST_SECOND.to_string()),
    );
    out.push('\n');
    out.push_str(&object_row());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgtime::from_unix_secs;

    fn checked_in() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(PATH)
    }

    /// sql/objects.sql is what the declarations make; STRIPE_FDW_REGEN=1 rewrites it.
    #[test]
    fn objects_sql_is_up_to_date() {
        let want = objects_sql();
        let path = checked_in();
        if std::env::var_os("STRIPE_FDW_REGEN").is_some() {
            std::fs::write(&path, &want).expect("write sql/objects.sql");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{PATH} differs from what core/src/objects_sql_gen.rs makes of the object \
             declarations; regenerate it with:\n    {REGENERATE}"
        );
    }

    #[test]
    fn every_object_and_column_is_listed_once() {
        let sql = objects_sql();
        for o in ALL {
            assert!(sql.contains(&kind_row(o)), "{}", o.name);
            for (i, c) in o.columns.iter().enumerate() {
                assert_eq!(
                    sql.matches(&column_row(o, c, i + 1)).count(),
                    1,
                    "{}.{}",
                    o.name,
                    c.name
                );
            }
        }
        assert!(!sql.contains("{{"), "every placeholder is filled");
    }

    #[test]
    fn rows_are_sql_literals() {
        let subs = crate::objects::find("subscriptions").expect("subscriptions");
        assert_eq!(
            kind_row(subs),
            "('subscriptions', 'subscription', 'subscriptions', true, 'retrieve', \
             '{\"status\": \"all\"}'::pg_catalog.jsonb, 'subscriptions', null::pg_catalog.int4)"
        );
        let start = subs.column("current_period_start").expect("column");
        assert_eq!(
            column_row(subs, start, 5),
            "('subscriptions', 'current_period_start', 'timestamp with time zone', \
             '{\"current_period_start\"}'::pg_catalog.text[], \
             '{\"items\",\"data\",\"0\",\"current_period_start\"}'::pg_catalog.text[], 5)"
        );
        assert_eq!(text_array(&[]), "'{}'::pg_catalog.text[]");
        assert_eq!(
            text_array(&["a\"b", "c\\", "it's"]),
            r#"'{"a\"b","c\\","it''s"}'::pg_catalog.text[]"#
        );
        let products = crate::objects::find("products").expect("products");
        assert!(kind_row(products).contains("'ids[]'"));
        let balance = crate::objects::find("balance").expect("balance");
        assert!(kind_row(balance).contains(", true, null, '{}'::pg_catalog.jsonb"));
    }

    /// The range of times the SQL accepts is the foreign table's.
    #[test]
    fn the_time_range_is_the_foreign_tables() {
        assert!(from_unix_secs(LAST_SECOND).is_some());
        assert!(from_unix_secs(LAST_SECOND + 1).is_none());
        // Postgres' first timestamp, in its own microseconds since 2000-01-01 (MIN_TIMESTAMP).
        assert_eq!(from_unix_secs(FIRST_SECOND), Some(-211_813_488_000_000_000));
    }
}
