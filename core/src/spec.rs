//! The declarative description of a Stripe object: endpoint, columns and the list filters it accepts.

/// The Postgres type a column is exposed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Text,
    Bool,
    Int8,
    Numeric,
    Timestamptz,
    Jsonb,
    TextArray,
}

impl ColType {
    /// The SQL spelling used in error messages.
    pub fn sql_name(self) -> &'static str {
        match self {
            ColType::Text => "text",
            ColType::Bool => "boolean",
            ColType::Int8 => "bigint",
            ColType::Numeric => "numeric",
            ColType::Timestamptz => "timestamp with time zone",
            ColType::Jsonb => "jsonb",
            ColType::TextArray => "text[]",
        }
    }

    /// The type's name qualified with its schema, as `IMPORT FOREIGN SCHEMA` writes it: the
    /// statement is parsed with the importer's search_path, where a schema placed before
    /// pg_catalog could hold a `text` or `jsonb` of its own.
    pub fn qualified_name(self) -> &'static str {
        match self {
            ColType::Text => "pg_catalog.text",
            ColType::Bool => "pg_catalog.bool",
            ColType::Int8 => "pg_catalog.int8",
            ColType::Numeric => "pg_catalog.numeric",
            ColType::Timestamptz => "pg_catalog.timestamptz",
            ColType::Jsonb => "pg_catalog.jsonb",
            ColType::TextArray => "pg_catalog.text[]",
        }
    }
}

/// One column: its name, type and where its value sits in the JSON object (empty path = the whole
/// object). A path step that is a number indexes an array (`["items", "data", "0", "price"]`).
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub ty: ColType,
    pub path: &'static [&'static str],
    /// Read when `path` is missing or null (empty: none): where a field moved to in Stripe's
    /// current shape, e.g. a subscription's `current_period_start` on its first item since 2025.
    pub fallback: &'static [&'static str],
}

/// How a column can be pushed to Stripe as a list filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// `param=value` for `=` on a text column.
    TextEq(&'static str),
    /// `param=value` for `=` on a text column whose values Stripe checks against a fixed set; a value
    /// outside the set is not pushed (Stripe would answer 400), Postgres filters it to no rows.
    TextEnum(&'static str, &'static [&'static str]),
    /// `param=true|false` for `=` on a boolean column.
    BoolEq(&'static str),
    /// `created=` / `created[gt|gte|lt|lte]=` for comparisons on a timestamp column.
    Range(&'static str),
    /// `param=value` for `=`; `IN` as one list request per value. For a parameter the list
    /// endpoint requires (a setup attempt's `setup_intent`).
    TextEqEach(&'static str),
    /// `param[]=` for `=` and `IN`, at most `max` values a request (more are sent in batches).
    ArrayIn { param: &'static str, max: usize },
    /// An event type: `=` as `param=value`; several values (`IN`) as `array=` at most `max` a request
    /// (never both in one request); `LIKE 'prefix.%'` as `param=prefix.*` (Stripe's wildcard).
    EventType {
        param: &'static str,
        array: &'static str,
        max: usize,
    },
}

/// A pushable filter on one column.
#[derive(Debug, Clone, Copy)]
pub struct FilterSpec {
    pub column: &'static str,
    pub kind: FilterKind,
}

/// How `id IN (...)` is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdsStrategy {
    /// The list endpoint takes `ids[]` (no cursor allowed with it).
    ListParam { param: &'static str, max: usize },
    /// One retrieve per id.
    Retrieve,
    /// Stripe has no retrieve for this object: `id` conditions stay with Postgres.
    Unsupported,
}

/// How Stripe serves an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `GET /<endpoint>` lists them. `required`: the column whose condition the list cannot do
    /// without (Stripe answers 400 without its parameter); a query without one is an error that
    /// says which condition to add.
    List { required: Option<&'static str> },
    /// Only `GET /<endpoint>/<id>` (tokens, mandates): a query must say `id = ...`.
    RetrieveOnly,
    /// One object at `GET /<endpoint>` (the balance); every entry of its arrays `rows` is a row,
    /// with the array's name in column `label` (as Supabase Wrappers shows the balance).
    Single {
        rows: &'static [&'static str],
        label: &'static str,
    },
}

/// Everything stripe_fdw knows about one Stripe object.
#[derive(Debug)]
pub struct ObjectSpec {
    /// The `object` table option, e.g. `products` or `checkout/sessions`.
    pub name: &'static str,
    /// The foreign table `IMPORT FOREIGN SCHEMA` creates (and `LIMIT TO` names), e.g.
    /// `checkout_sessions`: Supabase Wrappers' names.
    pub table: &'static str,
    /// Path below the API base URL, e.g. `products` (list: `/products`, retrieve: `/products/{id}`).
    pub endpoint: &'static str,
    /// The Stripe `object` field value, e.g. `product`.
    pub object_type: &'static str,
    pub columns: &'static [ColumnSpec],
    pub filters: &'static [FilterSpec],
    pub ids: IdsStrategy,
    pub access: Access,
    /// Parameters sent with every list request that pushes no parameter of that name: Stripe's
    /// subscription list omits canceled ones unless asked for `status=all`.
    pub defaults: &'static [(&'static str, &'static str)],
}

impl ObjectSpec {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn filter(&self, column: &str) -> Option<&FilterSpec> {
        self.filters.iter().find(|f| f.column == column)
    }

    /// The `CREATE FOREIGN TABLE` statement `IMPORT FOREIGN SCHEMA` issues for this object; a table
    /// that exists already is kept (a re-run migration succeeds, as with Supabase Wrappers).
    pub fn create_table_sql(&self, schema: &str, server: &str) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("  {} {}", quote_ident(c.name), c.ty.qualified_name()))
            .collect();
        format!(
            "create foreign table if not exists {}.{} (\n{}\n) server {} options (object {})",
            quote_ident(schema),
            quote_ident(self.table),
            cols.join(",\n"),
            quote_ident(server),
            quote_literal(self.name)
        )
    }
}

/// `col!("name", Type)`: a column read from the object's field of the same name;
/// `col!("name", Type, ["a", "b"])` from a nested path (`[]`: the whole object);
/// `col!("name", Type, [...], or [...])` with a fallback path.
#[macro_export]
macro_rules! col {
    ($name:literal, $ty:ident) => {
        $crate::spec::ColumnSpec {
            name: $name,
            ty: $crate::spec::ColType::$ty,
            path: &[$name],
            fallback: &[],
        }
    };
    ($name:literal, $ty:ident, [$($p:literal),*]) => {
        $crate::spec::ColumnSpec {
            name: $name,
            ty: $crate::spec::ColType::$ty,
            path: &[$($p),*],
            fallback: &[],
        }
    };
    ($name:literal, $ty:ident, [$($p:literal),*], or [$($f:literal),*]) => {
        $crate::spec::ColumnSpec {
            name: $name,
            ty: $crate::spec::ColType::$ty,
            path: &[$($p),*],
            fallback: &[$($f),*],
        }
    };
}

/// `filter!("column", Kind(...))`: a list filter on `column`; `filter!("column")` is `column=`.
#[macro_export]
macro_rules! filter {
    ($column:literal) => {
        $crate::spec::FilterSpec {
            column: $column,
            kind: $crate::spec::FilterKind::TextEq($column),
        }
    };
    ($column:literal, $kind:expr) => {
        $crate::spec::FilterSpec {
            column: $column,
            kind: $kind,
        }
    };
}

/// Quote an SQL identifier the way `quote_ident()` does (always quoted: simplest and always right).
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quote an SQL string literal.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
