//! The indicators a watch matches, compiled, and replaced as a whole while it runs.
//!
//! A watch takes the current [`Compiled`] from its [`Live`] and matches with it; when a newer
//! one is published (the hub's indicators changed: a TAXII add, a feed poll, a revocation, a
//! `valid_until` passing), the matching loop finishes its batch and moves to it. Compiling
//! happens on another thread, so matching never waits for it. The windows of
//! multi-observation patterns start empty in the new set.

use super::indicators::IndicatorPattern;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use watchpost_pattern::PatternSet;

/// Indicators and the set compiled from them (`set`'s pattern ids index `indicators`).
pub struct Compiled {
    pub indicators: Vec<IndicatorPattern>,
    pub set: PatternSet,
}

impl Compiled {
    /// Compiles `indicators`; those that do not compile are reported and skipped.
    pub fn new(indicators: Vec<IndicatorPattern>) -> Compiled {
        let (set, rejected) =
            PatternSet::compile(indicators.iter().map(|(_, p, v)| (p.as_str(), *v)));
        for r in &rejected {
            eprintln!(
                "watchpost: indicator {} skipped: {}",
                indicators[r.index].0, r.error
            );
        }
        Compiled { indicators, set }
    }
}

/// The current compiled indicators, and a generation number that grows with each
/// replacement.
pub struct Live {
    current: Mutex<(u64, Arc<Compiled>)>,
    generation: AtomicU64,
}

impl Live {
    pub fn new(compiled: Compiled) -> Live {
        Live {
            current: Mutex::new((0, Arc::new(compiled))),
            generation: AtomicU64::new(0),
        }
    }

    /// The current set and its generation.
    pub fn current(&self) -> (u64, Arc<Compiled>) {
        let guard = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        (guard.0, guard.1.clone())
    }

    /// Whether a set newer than `generation` was published: one atomic read, asked between
    /// batches.
    pub fn newer_than(&self, generation: u64) -> bool {
        self.generation.load(Ordering::Acquire) > generation
    }

    /// Publishes a new set.
    pub fn replace(&self, compiled: Compiled) {
        let mut guard = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let next = guard.0 + 1;
        *guard = (next, Arc::new(compiled));
        self.generation.store(next, Ordering::Release);
    }
}
