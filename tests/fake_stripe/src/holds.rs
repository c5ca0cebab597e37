//! Holds: park matching `/v1` requests until a test releases them, for deterministic interleavings.
//!
//! A hold rule matches like a fault rule (path prefix, method, `count` firings, null = until the
//! holds are cleared; the first matching rule with firings left wins). `when: "after"` (default)
//! computes the response from the store first and parks before sending it, so the answer is the
//! state as of the moment the request parked; `when: "before"` parks before the store is read. A
//! parked request waits on a oneshot channel without holding any lock, so the server keeps serving
//! everything else; release wakes the oldest first.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// When a held request waits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldWhen {
    /// The response is computed (the store read or changed) first, then the request waits before
    /// it is sent.
    #[default]
    After,
    /// The request waits before the store is read.
    Before,
}

/// One hold rule (body of `POST /__holds`); every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldRule {
    /// Only requests whose path starts with this (e.g. "/v1/products").
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Only requests with this HTTP method (e.g. "GET"; case-insensitive).
    #[serde(default)]
    pub method: Option<String>,
    /// How many requests to hold; null = every matching request until the holds are cleared.
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub when: HoldWhen,
}

impl HoldRule {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// Installed rules with their firing counters, and the parked requests, oldest first.
#[derive(Debug, Default)]
pub struct Holds {
    rules: Vec<HoldRule>,
    fired: Vec<u64>,
    parked: VecDeque<oneshot::Sender<()>>,
}

impl Holds {
    pub fn add(&mut self, rule: HoldRule) {
        self.rules.push(rule);
        self.fired.push(0);
    }

    pub fn rules(&self) -> &[HoldRule] {
        &self.rules
    }

    /// The first matching rule with firings left fires (its counter moves): when to hold this
    /// request, or `None` to serve it straight away.
    pub fn check(&mut self, method: &str, path: &str) -> Option<HoldWhen> {
        for (rule, fired) in self.rules.iter().zip(self.fired.iter_mut()) {
            if !rule.matches(method, path) || rule.count.is_some_and(|c| *fired >= c) {
                continue;
            }
            *fired += 1;
            return Some(rule.when);
        }
        None
    }

    /// Register a parked request; it waits until the returned receiver completes (released, or
    /// the sender dropped by a clear).
    pub fn park(&mut self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.parked.push_back(tx);
        rx
    }

    /// Requests currently parked (a request whose task is gone, e.g. at shutdown, is forgotten).
    pub fn waiting(&mut self) -> usize {
        self.parked.retain(|tx| !tx.is_closed());
        self.parked.len()
    }

    /// Wake the `count` oldest parked requests (all when `None`); returns how many were woken.
    pub fn release(&mut self, count: Option<usize>) -> usize {
        let want = count.unwrap_or(usize::MAX);
        let mut released = 0;
        while released < want {
            let Some(tx) = self.parked.pop_front() else {
                break;
            };
            if tx.send(()).is_ok() {
                released += 1;
            }
        }
        released
    }

    /// Remove every rule and wake every parked request; returns how many were woken.
    pub fn clear(&mut self) -> usize {
        self.rules.clear();
        self.fired.clear();
        self.release(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_rule_with_count_left_fires() {
        let mut h = Holds::default();
        h.add(HoldRule {
            path_prefix: Some("/v1/products".into()),
            method: Some("get".into()),
            count: Some(1),
            ..Default::default()
        });
        h.add(HoldRule {
            count: Some(1),
            when: HoldWhen::Before,
            ..Default::default()
        });
        assert_eq!(h.check("GET", "/v1/products"), Some(HoldWhen::After));
        assert_eq!(h.check("GET", "/v1/products"), Some(HoldWhen::Before));
        assert_eq!(h.check("GET", "/v1/products"), None);
        assert_eq!(h.check("POST", "/v1/prices"), None);
    }

    #[test]
    fn release_wakes_oldest_first_and_skips_gone_requests() {
        let mut h = Holds::default();
        let mut first = h.park();
        drop(h.park());
        let mut third = h.park();
        assert_eq!(h.waiting(), 2);
        assert_eq!(h.release(Some(1)), 1);
        assert_eq!(first.try_recv(), Ok(()));
        assert!(third.try_recv().is_err());
        assert_eq!(h.release(None), 1);
        assert_eq!(third.try_recv(), Ok(()));
        assert_eq!(h.waiting(), 0);
        assert_eq!(h.release(None), 0);
    }
}
