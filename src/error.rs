//! One error type for the extension, mapped to SQLSTATE + message + detail + hint like postgres_fdw's.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgSqlErrorCode;
use stripe_fdw_core::error::TimeoutKind;
use stripe_fdw_core::options::OptionError;
use stripe_fdw_core::value::ShapeError;
use stripe_fdw_core::StripeError;

#[derive(Debug)]
pub enum FdwError {
    Option(OptionError),
    Stripe(StripeError),
    Shape(ShapeError),
    /// A declared column Stripe's object does not have.
    UnknownColumn {
        table: String,
        column: String,
        object: &'static str,
        known: String,
    },
    /// A declared column whose type cannot hold the value.
    ColumnType {
        table: String,
        column: String,
        declared: String,
        expected: &'static str,
    },
    /// No API key anywhere (user mapping, server, vault).
    NoKey {
        server: String,
        /// The role whose user mapping was looked up.
        user: String,
    },
    /// A value from Stripe that the column cannot hold.
    BadData {
        column: String,
        message: String,
    },
    /// api_key_id / api_key_name given but the secret is not there.
    Vault {
        message: String,
        hint: String,
    },
    /// A Vault secret named in a user mapping, on a server whose owner lacks the privileges of the
    /// role the mapping applies to (src/secrets.rs says why).
    MappingSecret(Box<MappingSecret>),
    /// An internal invariant broke; reported, never a panic.
    Internal(String),
    /// Stripe's page walk went wrong (repeated cursor, impossible page).
    Paging(String),
    ImportSchema {
        message: String,
        hint: String,
    },
    /// Stripe cannot answer this scan without a condition on `column` (an id for a retrieve-only
    /// object, a required list parameter otherwise).
    NeedsCondition {
        table: String,
        spec: &'static stripe_fdw_core::spec::ObjectSpec,
        column: &'static str,
    },
}

/// Which secret of which user mapping was refused, and whose privileges were missing.
#[derive(Debug)]
pub struct MappingSecret {
    pub server: String,
    /// `"role"` or `PUBLIC`.
    pub mapping: String,
    pub option: String,
    pub secret: String,
    /// The server's owner.
    pub owner: String,
    /// The role the mapping applies to.
    pub user: String,
}

impl From<OptionError> for FdwError {
    fn from(e: OptionError) -> Self {
        FdwError::Option(e)
    }
}
impl From<StripeError> for FdwError {
    fn from(e: StripeError) -> Self {
        FdwError::Stripe(e)
    }
}
impl From<ShapeError> for FdwError {
    fn from(e: ShapeError) -> Self {
        FdwError::Shape(e)
    }
}

const FUNC: &str = "stripe_fdw";

fn report(
    code: PgSqlErrorCode,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
) -> ErrorReport {
    let mut r = ErrorReport::new(code, message, FUNC);
    if let Some(d) = detail {
        r = r.set_detail(d);
    }
    if let Some(h) = hint {
        r = r.set_hint(h);
    }
    r
}

fn stripe_report(e: StripeError) -> ErrorReport {
    use PgSqlErrorCode::*;
    let message = e.to_string();
    match &e {
        StripeError::Api { status, error, request_id, attempts } => {
            let mut detail = vec![format!("HTTP status {status}")];
            for (label, v) in [("type", &error.error_type), ("code", &error.code), ("param", &error.param)] {
                if let Some(v) = v {
                    detail.push(format!("{label} {v}"));
                }
            }
            if let Some(id) = request_id {
                detail.push(format!("Request-Id {id}"));
            }
            if *attempts > 1 {
                detail.push(format!("{attempts} attempts"));
            }
            let (code, hint) = match status {
                401 => (
                    ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
                    "Stripe rejected the API key. Check the api_key of the user mapping (or server), and that it is a secret or restricted key of the right mode (test/live).".to_string(),
                ),
                403 => (
                    ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "The API key is valid but not allowed to read this object; give the restricted key read access to it.".to_string(),
                ),
                429 => (
                    ERRCODE_FDW_ERROR,
                    "Stripe is rate limiting this account; lower the request rate (use the cache) or raise max_retries.".to_string(),
                ),
                s if *s >= 500 => (
                    ERRCODE_FDW_ERROR,
                    "Stripe had a problem answering; retry later, or raise max_retries / retry_deadline.".to_string(),
                ),
                _ => (
                    ERRCODE_FDW_ERROR,
                    match &error.doc_url {
                        Some(u) => format!("See {u}"),
                        None => "Check the query's conditions and the foreign table's options against Stripe's API reference.".to_string(),
                    },
                ),
            };
            report(code, message, Some(detail.join(", ")), Some(hint))
        }
        StripeError::Timeout { kind, attempts, .. } => {
            let hint = match kind {
                TimeoutKind::Connect => "Check api_url and the network, or raise the server option connect_timeout.",
                TimeoutKind::Request => "Stripe may be slow; raise the server option request_timeout, or read from the cache.",
            };
            report(
                ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION,
                message,
                Some(format!("{attempts} attempts")),
                Some(hint.to_string()),
            )
        }
        StripeError::Transport { attempts, .. } => report(
            ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION,
            message,
            Some(format!("{attempts} attempts")),
            Some("Check the server option api_url and that Stripe is reachable from the database host.".into()),
        ),
        StripeError::BadBody { request_id, .. } => report(
            ERRCODE_FDW_ERROR,
            message,
            request_id.as_ref().map(|id| format!("Request-Id {id}")),
            Some("No rows were returned. Check that api_url points at the Stripe API.".into()),
        ),
        StripeError::TooLarge { request_id, .. } => report(
            ERRCODE_FDW_ERROR,
            message,
            request_id.as_ref().map(|id| format!("Request-Id {id}")),
            Some("Raise the server option max_response_size.".into()),
        ),
        StripeError::Cancelled => report(ERRCODE_QUERY_CANCELED, message, None, None),
    }
}

impl From<FdwError> for ErrorReport {
    fn from(e: FdwError) -> Self {
        use PgSqlErrorCode::*;
        match e {
            FdwError::Option(o) => {
                let code = match &o {
                    OptionError::Unknown { .. } => ERRCODE_FDW_INVALID_OPTION_NAME,
                    OptionError::Missing { .. } => ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                    OptionError::BadValue { .. } => ERRCODE_INVALID_PARAMETER_VALUE,
                    OptionError::UnknownObject { .. } => ERRCODE_FDW_TABLE_NOT_FOUND,
                };
                let hint = o.hint();
                report(code, o.to_string(), None, Some(hint))
            }
            FdwError::Stripe(s) => stripe_report(s),
            FdwError::Shape(s) => report(
                ERRCODE_FDW_INVALID_DATA_TYPE,
                s.to_string(),
                None,
                Some("Stripe's object does not match stripe_fdw's column definition; report it with the api_version in use.".into()),
            ),
            FdwError::UnknownColumn { table, column, object, known } => report(
                ERRCODE_FDW_COLUMN_NAME_NOT_FOUND,
                format!("column \"{column}\" of foreign table \"{table}\" is not a column of Stripe {object}"),
                Some(format!("Columns of {object}: {known}.")),
                Some("Drop or rename the column, or use attrs->>'field' for fields stripe_fdw has no column for.".into()),
            ),
            FdwError::ColumnType { table, column, declared, expected } => report(
                ERRCODE_FDW_INVALID_DATA_TYPE,
                format!("column \"{column}\" of foreign table \"{table}\" is declared {declared}, but stripe_fdw reads it as {expected}"),
                None,
                Some(format!("Declare the column as {expected}.")),
            ),
            FdwError::NoKey { server, user } => report(
                ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                format!("no Stripe API key for server \"{server}\""),
                Some(format!("No user mapping of role \"{user}\" (the role whose permissions are checked for the table: the view owner when it is read through a view) nor the server gives one.")),
                Some(format!("create user mapping for \"{user}\" server {server} options (api_key_name '...') with the key in Supabase Vault, or (api_key 'sk_...').")),
            ),
            FdwError::BadData { column, message } => report(
                ERRCODE_FDW_INVALID_DATA_TYPE,
                format!("column \"{column}\": {message}"),
                None,
                Some("Stripe sent a value this column cannot hold; read it through attrs, or report it with the api_version in use.".into()),
            ),
            FdwError::Vault { message, hint } => report(ERRCODE_FDW_OPTION_NAME_NOT_FOUND, message, None, Some(hint)),
            FdwError::MappingSecret(m) => {
                let MappingSecret { server, mapping, option, secret, owner, user } = *m;
                report(
                    ERRCODE_INSUFFICIENT_PRIVILEGE,
                    format!("will not read Vault secret \"{secret}\" for role \"{user}\": the user mapping for {mapping} on server \"{server}\" names it ({option}), and the server's owner \"{owner}\" does not have the privileges of \"{user}\""),
                    Some("A secret named in a user mapping is read as the role the mapping applies to, and only for a server whose owner is that role, a member of it or a superuser: a server's owner decides where its requests go (api_url) and may write user mappings for any role.".into()),
                    Some(format!("Name the secret in a user mapping on a server owned by \"{user}\" or by a member of it, or have such a role own the server (alter server \"{server}\" owner to \"{user}\"). A secret named in the server's own options is read as its owner.")),
                )
            }
            FdwError::Internal(m) => report(ERRCODE_INTERNAL_ERROR, format!("stripe_fdw internal error: {m}"), None, None),
            FdwError::Paging(m) => report(ERRCODE_FDW_ERROR, m, None, Some("Retry the query; if it persists, report it with the Request-Id.".into())),
            FdwError::ImportSchema { message, hint } => report(ERRCODE_FDW_SCHEMA_NOT_FOUND, message, None, Some(hint)),
            FdwError::NeedsCondition { table, spec, column } => {
                let (detail, hint) = if column == "id" {
                    (
                        format!("Stripe has no list of {}: it retrieves one by its id (GET /v1/{}/{{id}}).", spec.table, spec.endpoint),
                        "Add a condition such as where id = '...' or id in (...), with a constant or a parameter.".to_string(),
                    )
                } else {
                    (
                        format!("Stripe lists {} only for a given {column} (GET /v1/{} requires the {column} parameter).", spec.table, spec.endpoint),
                        format!("Add a condition such as where {column} = '...' (or {column} in (...), one request each), with a constant or a parameter."),
                    )
                };
                report(
                    ERRCODE_FDW_ERROR,
                    format!("a query on foreign table \"{table}\" needs a condition on {column}"),
                    Some(detail),
                    Some(hint),
                )
            }
        }
    }
}

/// An error on its way to Postgres, built where the SQLSTATE, message and hint are known (boxed:
/// an ErrorReport is large); `or_raise` raises it.
pub(crate) struct Raise(Box<ErrorReport>);

impl From<ErrorReport> for Raise {
    fn from(r: ErrorReport) -> Self {
        Raise(Box::new(r))
    }
}

impl From<FdwError> for Raise {
    fn from(e: FdwError) -> Self {
        Raise(Box::new(ErrorReport::from(e)))
    }
}

impl Raise {
    pub(crate) fn into_report(self) -> ErrorReport {
        *self.0
    }
}

/// Raise an error as a Postgres ERROR (unwinding to the nearest `#[pg_guard]`), else the value:
/// the one way every error of this crate reaches Postgres.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, FdwError> {
    fn or_raise(self) -> T {
        use pgrx::pg_sys::panic::ErrorReportable;
        self.map_err(ErrorReport::from).unwrap_or_report()
    }
}

impl<T> OrRaise<T> for Result<T, Raise> {
    fn or_raise(self) -> T {
        use pgrx::pg_sys::panic::ErrorReportable;
        self.map_err(Raise::into_report).unwrap_or_report()
    }
}
