//! The retry decision: a pure function of what happened, how often, and how long it took.

use std::time::Duration;

/// What one attempt ended with, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP error status, with Stripe's `Stripe-Should-Retry` and `Retry-After` headers if sent.
    Status {
        status: u16,
        should_retry: Option<bool>,
        retry_after: Option<Duration>,
    },
    /// No usable response: connection refused or reset, a timeout, a body cut short.
    Transport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub max_retries: u32,
    /// No retry starts after this much time since the first attempt.
    pub deadline: Duration,
    pub base: Duration,
    pub cap: Duration,
}

impl Policy {
    pub fn new(max_retries: u32, deadline: Duration) -> Self {
        Policy {
            max_retries,
            deadline,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Retry(Duration),
    GiveUp(Reason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    NotRetryable,
    StripeSaidNo,
    OutOfRetries,
    PastDeadline,
}

/// Decide after attempt number `attempt` (1-based) failed with `outcome`, `elapsed` after the first
/// attempt started. `jitter` in [0, 1) spreads the backoff (0.5x to 1x of the exponential step).
pub fn decide(
    policy: &Policy,
    attempt: u32,
    outcome: Outcome,
    elapsed: Duration,
    jitter: f64,
) -> Decision {
    let retryable = match outcome {
        Outcome::Transport => true,
        Outcome::Status {
            should_retry: Some(false),
            ..
        } => return Decision::GiveUp(Reason::StripeSaidNo),
        Outcome::Status {
            should_retry: Some(true),
            ..
        } => true,
        Outcome::Status { status, .. } => status == 429 || status == 409 || status >= 500,
    };
    if !retryable {
        return Decision::GiveUp(Reason::NotRetryable);
    }
    if attempt > policy.max_retries {
        return Decision::GiveUp(Reason::OutOfRetries);
    }
    let exp = policy
        .base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(policy.cap);
    let backoff = exp.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    let wait = match outcome {
        Outcome::Status {
            retry_after: Some(ra),
            ..
        } => ra.max(backoff),
        _ => backoff,
    };
    if elapsed.saturating_add(wait) > policy.deadline {
        return Decision::GiveUp(Reason::PastDeadline);
    }
    Decision::Retry(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn status(status: u16, should_retry: Option<bool>, retry_after: Option<u64>) -> Outcome {
        Outcome::Status {
            status,
            should_retry,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn decision_table() {
        let p = Policy::new(3, Duration::from_secs(60));
        let cases: Vec<(&str, u32, Outcome, u64, f64, Decision)> = vec![
            (
                "429 retries",
                1,
                status(429, None, None),
                0,
                0.0,
                Decision::Retry(MS(250)),
            ),
            (
                "409 retries",
                1,
                status(409, None, None),
                0,
                1.0,
                Decision::Retry(MS(500)),
            ),
            (
                "500 retries",
                2,
                status(500, None, None),
                0,
                1.0,
                Decision::Retry(MS(1000)),
            ),
            (
                "503 retries",
                3,
                status(503, None, None),
                0,
                1.0,
                Decision::Retry(MS(2000)),
            ),
            (
                "transport retries",
                1,
                Outcome::Transport,
                0,
                1.0,
                Decision::Retry(MS(500)),
            ),
            (
                "400 does not",
                1,
                status(400, None, None),
                0,
                0.0,
                Decision::GiveUp(Reason::NotRetryable),
            ),
            (
                "401 does not",
                1,
                status(401, None, None),
                0,
                0.0,
                Decision::GiveUp(Reason::NotRetryable),
            ),
            (
                "404 does not",
                1,
                status(404, None, None),
                0,
                0.0,
                Decision::GiveUp(Reason::NotRetryable),
            ),
            (
                "Should-Retry false beats 429",
                1,
                status(429, Some(false), None),
                0,
                0.0,
                Decision::GiveUp(Reason::StripeSaidNo),
            ),
            (
                "Should-Retry false beats 500",
                1,
                status(500, Some(false), None),
                0,
                0.0,
                Decision::GiveUp(Reason::StripeSaidNo),
            ),
            (
                "Should-Retry true makes 400 retry",
                1,
                status(400, Some(true), None),
                0,
                1.0,
                Decision::Retry(MS(500)),
            ),
            (
                "Retry-After is honoured",
                1,
                status(429, None, Some(3)),
                0,
                1.0,
                Decision::Retry(MS(3000)),
            ),
            (
                "Retry-After never shortens backoff",
                3,
                status(429, None, Some(0)),
                0,
                1.0,
                Decision::Retry(MS(2000)),
            ),
            (
                "out of retries",
                4,
                status(500, None, None),
                0,
                0.0,
                Decision::GiveUp(Reason::OutOfRetries),
            ),
            (
                "past the deadline",
                1,
                status(500, None, None),
                59_900,
                1.0,
                Decision::GiveUp(Reason::PastDeadline),
            ),
            (
                "Retry-After past the deadline",
                1,
                status(429, Some(true), Some(120)),
                0,
                0.0,
                Decision::GiveUp(Reason::PastDeadline),
            ),
        ];
        for (name, attempt, outcome, elapsed_ms, jitter, want) in cases {
            assert_eq!(
                decide(&p, attempt, outcome, MS(elapsed_ms), jitter),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn zero_retries_never_retries() {
        let p = Policy::new(0, Duration::from_secs(60));
        assert_eq!(
            decide(&p, 1, Outcome::Transport, MS(0), 0.0),
            Decision::GiveUp(Reason::OutOfRetries)
        );
    }

    #[test]
    fn backoff_is_capped() {
        let p = Policy::new(10, Duration::from_secs(600));
        assert_eq!(
            decide(&p, 10, Outcome::Transport, MS(0), 1.0),
            Decision::Retry(Duration::from_secs(8))
        );
    }
}
