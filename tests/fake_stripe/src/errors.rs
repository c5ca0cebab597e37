//! Stripe-shaped API errors (`{"error":{...}}`) and their HTTP statuses.

use serde_json::{json, Map, Value};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>, param: Option<&str>) -> Self {
        ApiError {
            status: 400,
            kind: "invalid_request_error",
            code: None,
            message: message.into(),
            param: param.map(str::to_string),
        }
    }

    pub fn unknown_param(param: &str) -> Self {
        ApiError {
            status: 400,
            kind: "invalid_request_error",
            code: Some("parameter_unknown"),
            message: format!("Received unknown parameter: {param}"),
            param: Some(param.to_string()),
        }
    }

    pub fn missing_param(param: &str) -> Self {
        ApiError {
            status: 400,
            kind: "invalid_request_error",
            code: Some("parameter_missing"),
            message: format!("Missing required param: {param}."),
            param: Some(param.to_string()),
        }
    }

    /// `what` is "product" or "price"; 404 unless used for a cursor/reference (then 400).
    pub fn no_such(what: &str, id: &str, param: &str, status: u16) -> Self {
        ApiError {
            status,
            kind: "invalid_request_error",
            code: Some("resource_missing"),
            message: format!("No such {what}: '{id}'"),
            param: Some(param.to_string()),
        }
    }

    pub fn invalid_integer(value: &str, param: &str) -> Self {
        Self::invalid(format!("Invalid integer: {value}"), Some(param))
    }

    pub fn invalid_boolean(value: &str, param: &str) -> Self {
        Self::invalid(format!("Invalid boolean: {value}"), Some(param))
    }

    pub fn not_found_url(method: &str, path: &str) -> Self {
        ApiError {
            status: 404,
            kind: "invalid_request_error",
            code: None,
            message: format!(
                "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
            ),
            param: None,
        }
    }

    pub fn no_api_key() -> Self {
        ApiError {
            status: 401,
            kind: "invalid_request_error",
            code: None,
            message: "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').".to_string(),
            param: None,
        }
    }

    pub fn invalid_api_key(masked: &str) -> Self {
        ApiError {
            status: 401,
            kind: "invalid_request_error",
            code: None,
            message: format!("Invalid API Key provided: {masked}"),
            param: None,
        }
    }

    /// Error body used by the `status` fault kind.
    pub fn for_status(status: u16) -> Self {
        match status {
            429 => ApiError {
                status,
                kind: "rate_limit_error",
                code: Some("rate_limit"),
                message: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.".to_string(),
                param: None,
            },
            s if s >= 500 => ApiError {
                status,
                kind: "api_error",
                code: None,
                message: "Something went wrong on Stripe's end. (fake_stripe injected fault)"
                    .to_string(),
                param: None,
            },
            _ => ApiError {
                status,
                kind: "invalid_request_error",
                code: None,
                message: format!("Injected error with status {status}"),
                param: None,
            },
        }
    }

    pub fn body(&self) -> Value {
        let mut e = Map::new();
        if let Some(code) = self.code {
            e.insert("code".into(), json!(code));
            e.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        e.insert("message".into(), json!(self.message));
        if let Some(p) = &self.param {
            e.insert("param".into(), json!(p));
        }
        e.insert("type".into(), json!(self.kind));
        json!({ "error": Value::Object(e) })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
