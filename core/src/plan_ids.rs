//! Which ids Stripe could hold, and which of them may become a path segment of a retrieve.

/// Longest id Stripe accepts (its API description gives every id `maxLength: 5000`).
const MAX_ID_LEN: usize = 5000;

/// Could Stripe hold an object with this id at all? (An empty or over-long id matches no object.)
pub(super) fn possible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN
}

/// May this id become a path segment as it is? Letters, digits, `_`, `-` and `.` (but not `.` or
/// `..`, which URL libraries resolve away, turning a retrieve into a list). Ids Stripe generates
/// always qualify; a custom product id that does not is looked up with `ids[]` in the query.
pub fn path_safe_id(id: &str) -> bool {
    possible_id(id)
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}
