//! Where a concurrent list scan cuts the `created` range: a query's bounds, a slice's parameters,
//! and how to split a slice whose pages show it is dense. Pure functions; `scan` drives them.
//!
//! A slice owns the objects with `created` in `[floor, ceil]` (inclusive seconds; `None` is
//! unbounded) that it has not read yet. Lists come newest first, so a slice reads from its `ceil`
//! down; splitting keeps the newest part of what is left with the slice (its cursor is there) and
//! hands older parts to new slices. Every second belongs to exactly one slice, so every object is
//! read exactly once.

use crate::plan::MAX_PAGE;

/// A list query's `created` bounds (inclusive) and its other parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryBounds {
    pub others: Vec<(String, String)>,
    pub lo: Option<i64>,
    pub hi: Option<i64>,
}

/// Read `created`, `created[gt|gte|lt|lte]` out of `params`; `None` when a value is not a number.
pub fn query_bounds(params: &[(String, String)]) -> Option<QueryBounds> {
    let mut b = QueryBounds {
        others: Vec::new(),
        lo: None,
        hi: None,
    };
    for (k, v) in params {
        let n = || v.trim().parse::<i64>().ok();
        let (lo, hi) = match k.as_str() {
            "created" => (Some(n()?), Some(n()?)),
            "created[gt]" => (Some(n()?.saturating_add(1)), None),
            "created[gte]" => (Some(n()?), None),
            "created[lt]" => (None, Some(n()?.saturating_sub(1))),
            "created[lte]" => (None, Some(n()?)),
            _ => {
                b.others.push((k.clone(), v.clone()));
                continue;
            }
        };
        if let Some(l) = lo {
            b.lo = Some(b.lo.map_or(l, |x| x.max(l)));
        }
        if let Some(h) = hi {
            b.hi = Some(b.hi.map_or(h, |x| x.min(h)));
        }
    }
    Some(b)
}

/// The filter parameters of a slice `[lo, hi]` of a query: its other filters and the bounds.
pub fn slice_params(q: &QueryBounds, lo: Option<i64>, hi: Option<i64>) -> Vec<(String, String)> {
    let mut p = q.others.clone();
    if let Some(l) = lo {
        p.push(("created[gte]".into(), l.to_string()));
    }
    if let Some(h) = hi {
        p.push(("created[lte]".into(), h.to_string()));
    }
    p
}

/// Seconds a full page of a slice covers, from the newest and oldest `created` it has read and how
/// many objects that was (at least 1).
pub fn page_span(newest: i64, oldest: i64, items: u64) -> i64 {
    let seconds = newest.saturating_sub(oldest).saturating_add(1).max(1) as f64;
    let per_page = seconds * f64::from(MAX_PAGE) / items.max(1) as f64;
    per_page.ceil().clamp(1.0, i64::MAX as f64 / 4.0) as i64
}

/// A split: the slice keeps `[keep_from, ...]`; each piece is a new slice `(floor, ceil)`, newest
/// first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    pub keep_from: i64,
    pub pieces: Vec<(Option<i64>, i64)>,
}

/// Where to split a slice with `floor` whose reading will have reached `position` (the `created`
/// of the last object it read, less a page if a request is in flight), a page covering `span`
/// seconds, for up to `idle` new slices. A slice without a floor is cut into pieces of `2^round`
/// pages and a new slice without a floor below them; one with a floor into equal parts. `None`
/// when what is left is about a page or less.
pub fn cut(floor: Option<i64>, position: i64, span: i64, idle: usize, round: u32) -> Option<Cut> {
    let span = span.max(1);
    if idle == 0 {
        return None;
    }
    match floor {
        Some(f) => {
            let remaining = position.checked_sub(f)?.checked_add(1)?;
            // Less than one and a half pages left: the slice finishes as soon as a split would.
            if remaining <= 0 || remaining.saturating_mul(2) < span.saturating_mul(3) {
                return None;
            }
            let pages = (remaining / span).max(1) as usize;
            let parts = (idle + 1).min(pages.max(2)).min(remaining as usize);
            if parts < 2 {
                return None;
            }
            let width = remaining / parts as i64;
            let keep_from = position - width + 1;
            let pieces = (1..parts)
                .map(|j| {
                    let ceil = keep_from - 1 - (j as i64 - 1) * width;
                    let lo = if j == parts - 1 { f } else { ceil - width + 1 };
                    (Some(lo), ceil)
                })
                .collect();
            Some(Cut { keep_from, pieces })
        }
        None => {
            let width = span.saturating_mul(1 << round.min(6));
            let keep_from = position.saturating_sub(width).saturating_add(1);
            let mut pieces = Vec::with_capacity(idle);
            let mut ceil = keep_from.saturating_sub(1);
            for j in 0..idle {
                if ceil < 0 {
                    break; // Stripe has no object created before 1970.
                }
                let lo = ceil.saturating_sub(width).saturating_add(1);
                if j + 1 == idle || lo <= 0 {
                    pieces.push((None, ceil));
                    break;
                } else {
                    pieces.push((Some(lo), ceil));
                    ceil = ceil.saturating_sub(width);
                }
            }
            if pieces.is_empty() {
                return None;
            }
            Some(Cut { keep_from, pieces })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bounds_of_a_query_are_intersected_and_inclusive() {
        let b = query_bounds(&p(&[
            ("active", "true"),
            ("created[gt]", "10"),
            ("created[gte]", "5"),
            ("created[lt]", "100"),
        ]))
        .expect("numbers");
        assert_eq!((b.lo, b.hi), (Some(11), Some(99)));
        assert_eq!(b.others, p(&[("active", "true")]));
        let eq = query_bounds(&p(&[("created", "7")])).expect("number");
        assert_eq!((eq.lo, eq.hi), (Some(7), Some(7)));
        assert_eq!(query_bounds(&p(&[("created[gte]", "x")])), None);
        assert_eq!(
            slice_params(&b, Some(20), Some(30)),
            p(&[
                ("active", "true"),
                ("created[gte]", "20"),
                ("created[lte]", "30")
            ])
        );
    }

    #[test]
    fn page_span_estimates_seconds_per_hundred_objects() {
        assert_eq!(page_span(1_000, 604, 100), 397);
        assert_eq!(page_span(1_000, 996, 5), 100);
        assert_eq!(page_span(5, 5, 100), 1);
        assert_eq!(page_span(5, 5, 0), 100);
    }

    /// Every second of `[lo, hi]` in exactly one of the kept part and the pieces.
    fn covers(c: &Cut, lo: i64, hi: i64) {
        let mut ranges = vec![(c.keep_from, hi)];
        ranges.extend(c.pieces.iter().map(|(f, ce)| (f.unwrap_or(lo), *ce)));
        ranges.sort();
        assert_eq!(ranges[0].0, lo, "{c:?}");
        for w in ranges.windows(2) {
            assert_eq!(w[0].1 + 1, w[1].0, "gap or overlap in {c:?}");
        }
        assert_eq!(ranges.last().map(|r| r.1), Some(hi), "{c:?}");
    }

    #[test]
    fn a_bounded_slice_is_cut_into_equal_parts_that_cover_it() {
        let c = cut(Some(0), 999, 100, 3, 0).expect("ten pages left");
        assert_eq!(c.keep_from, 750);
        assert_eq!(
            c.pieces,
            vec![(Some(500), 749), (Some(250), 499), (Some(0), 249)]
        );
        covers(&c, 0, 999);
        let c = cut(Some(7), 1_006, 100, 15, 0).expect("ten pages left");
        assert_eq!(c.pieces.len(), 9, "no more parts than pages");
        covers(&c, 7, 1_006);
        assert_eq!(cut(Some(0), 120, 100, 3, 0), None, "about a page left");
        assert_eq!(cut(Some(0), -5, 100, 3, 0), None, "nothing left");
        assert_eq!(cut(Some(0), 999, 100, 0, 0), None, "no idle worker");
        let c = cut(Some(10), 12, 1, 8, 0).expect("three seconds, three parts");
        covers(&c, 10, 12);
    }

    #[test]
    fn an_open_slice_keeps_exploring_the_past_with_growing_pieces() {
        let c = cut(None, 10_000, 100, 3, 0).expect("open");
        assert_eq!(c.keep_from, 9_901);
        assert_eq!(
            c.pieces,
            vec![(Some(9_801), 9_900), (Some(9_701), 9_800), (None, 9_700)]
        );
        let c = cut(None, 10_000, 100, 2, 2).expect("open");
        assert_eq!(c.keep_from, 9_601);
        assert_eq!(c.pieces, vec![(Some(9_201), 9_600), (None, 9_200)]);
        let c = cut(None, 150, 100, 3, 0).expect("open");
        assert_eq!(c.pieces, vec![(None, 50)], "nothing before 1970");
        assert_eq!(cut(None, 50, 100, 3, 0), None);
    }
}
