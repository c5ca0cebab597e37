//! Deterministic Stripe-looking identifiers and request ids (splitmix64 based, no external RNG).

use std::sync::atomic::{AtomicU64, Ordering};

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// splitmix64 step: a small, fast, well-mixed deterministic generator.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish value in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn alnum(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| ALNUM[self.below(ALNUM.len() as u64) as usize] as char)
            .collect()
    }
}

/// `prefix` followed by `len` alphanumerics drawn from `rng`.
pub fn make_id(rng: &mut SplitMix, prefix: &str, len: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    s.push_str(&rng.alnum(len));
    s
}

pub const PRODUCT_ID_LEN: usize = 14;
pub const PRICE_ID_LEN: usize = 24;

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(1);

/// A fresh `req_...` id (unique within the process).
pub fn request_id() -> String {
    let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut rng = SplitMix(n ^ 0x5EED_F05A_7E00);
    make_id(&mut rng, "req_", 14)
}

/// Current unix time in seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

static SEED_COUNTER: AtomicU64 = AtomicU64::new(1);

/// A seed that differs between servers and processes: event ids must never repeat across the
/// fakes of one test run, since the extension deduplicates deliveries by event id.
pub fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = SEED_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut rng = SplitMix(nanos ^ (u64::from(std::process::id()) << 32) ^ n.rotate_left(17));
    rng.next_u64()
}
