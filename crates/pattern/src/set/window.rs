//! Bounded state for patterns that span several observations.
//!
//! Each such pattern keeps the recent observations that satisfied one of its `[...]`: at most
//! [`WindowLimits::per_pattern`] of them, none older (by observation time) than
//! [`WindowLimits::horizon_micros`], and at most [`WindowLimits::total`] across all patterns.
//! Whatever a bound pushes out is counted in `dropped`, so an operator can see when a window is
//! too small for the traffic — memory stays bounded on an endless stream.

use crate::eval::{Observation, Sco};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;

/// Bounds of the windows.
#[derive(Clone, Copy, Debug)]
pub struct WindowLimits {
    /// Observations kept per pattern.
    pub per_pattern: usize,
    /// Observations kept in all windows together.
    pub total: usize,
    /// How far back (observation time, microseconds) an observation stays relevant.
    pub horizon_micros: i64,
}

impl Default for WindowLimits {
    /// 64 per pattern, a million in all, one day back: room for the FOLLOWEDBY and WITHIN
    /// chains of real indicator feeds, a few hundred megabytes at most.
    fn default() -> Self {
        WindowLimits {
            per_pattern: 64,
            total: 1_000_000,
            horizon_micros: 86_400 * 1_000_000,
        }
    }
}

/// An observation copied out of the stream, shared by every window that holds it.
#[derive(Debug)]
struct Kept {
    seq: u64,
    id: Option<String>,
    first: i64,
    last: i64,
    count: u64,
    objects: Vec<(String, Value)>,
}

pub(super) struct Windows {
    limits: WindowLimits,
    by_pattern: HashMap<u32, VecDeque<Rc<Kept>>>,
    held: usize,
    dirty: BTreeSet<u32>,
    last_copy: Option<(u64, Rc<Kept>)>,
    pub(super) dropped: u64,
}

impl Windows {
    pub(super) fn new(limits: WindowLimits) -> Self {
        Windows {
            limits,
            by_pattern: HashMap::new(),
            held: 0,
            dirty: BTreeSet::new(),
            last_copy: None,
            dropped: 0,
        }
    }

    /// Records that observation `seq` satisfied a part of `pattern`.
    pub(super) fn push(&mut self, pattern: u32, seq: u64, obs: &Observation<'_>) {
        let kept = match &self.last_copy {
            Some((s, k)) if *s == seq => k.clone(),
            _ => {
                let k = Rc::new(Kept {
                    seq,
                    id: obs.id.map(str::to_string),
                    first: obs.first,
                    last: obs.last,
                    count: obs.count,
                    objects: obs
                        .objects
                        .iter()
                        .map(|s| (s.id.to_string(), s.object.clone()))
                        .collect(),
                });
                self.last_copy = Some((seq, k.clone()));
                k
            }
        };
        let window = self.by_pattern.entry(pattern).or_default();
        if window.back().is_some_and(|k| k.seq == seq) {
            return;
        }
        window.push_back(kept);
        self.held += 1;
        if window.len() > self.limits.per_pattern {
            window.pop_front();
            self.held -= 1;
            self.dropped += 1;
        }
        self.dirty.insert(pattern);
        if self.held > self.limits.total {
            self.evict_oldest();
        }
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .by_pattern
            .iter()
            .filter_map(|(p, w)| w.front().map(|k| (k.last, *p)))
            .min();
        if let Some((_, p)) = oldest {
            if let Some(w) = self.by_pattern.get_mut(&p) {
                w.pop_front();
                self.held -= 1;
                self.dropped += 1;
            }
        }
    }

    /// The patterns whose windows changed, with the sequence numbers of their observations,
    /// after expiring what is older than the horizon before `now`.
    pub(super) fn take_dirty(&mut self, now: i64) -> Vec<(u32, Vec<u64>)> {
        let horizon = now.saturating_sub(self.limits.horizon_micros);
        let dirty = std::mem::take(&mut self.dirty);
        let mut out = Vec::with_capacity(dirty.len());
        for p in dirty {
            let Some(w) = self.by_pattern.get_mut(&p) else {
                continue;
            };
            while w.front().is_some_and(|k| k.last < horizon) {
                w.pop_front();
                self.held -= 1;
            }
            if w.is_empty() {
                self.by_pattern.remove(&p);
                continue;
            }
            out.push((p, w.iter().map(|k| k.seq).collect()));
        }
        out
    }

    /// A pattern's window as observations the evaluator reads.
    pub(super) fn observations(&self, pattern: u32) -> Vec<Observation<'_>> {
        self.by_pattern
            .get(&pattern)
            .into_iter()
            .flatten()
            .map(|k| Observation {
                id: k.id.as_deref(),
                first: k.first,
                last: k.last,
                count: k.count,
                objects: k.objects.iter().map(|(id, o)| Sco::new(id, o)).collect(),
            })
            .collect()
    }
}
