//! The request log exposed at `/__log`: every `/v1` request served, in order.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub method: String,
    pub path: String,
    /// Decoded query pairs in the order received.
    pub query: Vec<(String, String)>,
    /// Decoded form pairs (POST only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Vec<(String, String)>>,
    /// HTTP status sent; 0 when no response was sent (drop, hang).
    pub status: u16,
    /// The injected fault kind, when one fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// Stripe-Version, Stripe-Account, User-Agent and Idempotency-Key as sent (names lowercased).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}
