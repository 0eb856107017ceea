//! Matching throughput of the indexed PatternSet as the indicator count grows (1k → 100k →
//! 1M), on pre-decoded observations from the deterministic workload generator, with the naive
//! loop (every pattern on every observation) on 1,000 indicators as the baseline.
//!
//! `cargo bench -p watchpost-pattern --bench match`

// A panic in a bench is a broken bench, not a crashed hub.
#![allow(clippy::unwrap_used)]

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use serde_json::Value;
use std::sync::OnceLock;
use watchpost_pattern::eval::Observation;
use watchpost_pattern::{workload, Matcher, Pattern, PatternSet, Version};

fn main() {
    divan::main();
}

const EVENTS: usize = 100_000;

struct Workload {
    patterns: Vec<String>,
    events: Vec<Value>,
}

fn workload(indicators: usize) -> &'static Workload {
    static CACHE: OnceLock<std::sync::Mutex<Vec<(usize, &'static Workload)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap();
    if let Some((_, w)) = cache.iter().find(|(n, _)| *n == indicators) {
        return w;
    }
    let (patterns, values) = workload::indicators(indicators, 1);
    let events = workload::events(EVENTS, 1, &values, 5);
    let w: &'static Workload = Box::leak(Box::new(Workload { patterns, events }));
    cache.push((indicators, w));
    w
}

fn observations(events: &[Value]) -> Vec<Observation<'_>> {
    events.iter().map(workload::observation).collect()
}

#[divan::bench(args = [1_000, 100_000, 1_000_000], sample_count = 5, sample_size = 1)]
fn indexed(bencher: Bencher, indicators: usize) {
    let w = workload(indicators);
    let (set, _) = PatternSet::compile(w.patterns.iter().map(|p| (p.as_str(), Version::V21)));
    let obs = observations(&w.events);
    bencher.counter(ItemsCount::new(obs.len())).bench_local(|| {
        let mut matcher = Matcher::new(&set);
        let mut hits = Vec::new();
        for (i, batch) in obs.chunks(256).enumerate() {
            matcher.observe_batch((i * 256) as u64, batch, &mut hits);
        }
        black_box(hits.len())
    });
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn naive_1000_indicators(bencher: Bencher) {
    let w = workload(1_000);
    let compiled: Vec<Pattern> = w
        .patterns
        .iter()
        .map(|p| Pattern::parse(p).unwrap())
        .collect();
    let obs = observations(&w.events[..2_000]);
    bencher.counter(ItemsCount::new(obs.len())).bench_local(|| {
        let mut n = 0;
        for o in &obs {
            for p in &compiled {
                n += usize::from(
                    p.evaluate_observations(std::slice::from_ref(o))
                        .unwrap()
                        .is_some(),
                );
            }
        }
        black_box(n)
    });
}

#[divan::bench(args = [1_000, 1_000_000], sample_count = 3, sample_size = 1)]
fn compile(bencher: Bencher, indicators: usize) {
    let w = workload(indicators);
    bencher
        .counter(ItemsCount::new(indicators))
        .bench_local(|| {
            black_box(PatternSet::compile(
                w.patterns.iter().map(|p| (p.as_str(), Version::V21)),
            ))
        });
}
