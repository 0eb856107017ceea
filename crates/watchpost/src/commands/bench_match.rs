//! `watchpost bench match` and `watchpost bench gen match`: the PatternSet benchmark of
//! docs/benchmarks.md, with the naive loop as the baseline in the same run.

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use watchpost_pattern::eval::Observation;
use watchpost_pattern::{workload, Matcher, Pattern, PatternSet, Version};

/// Resident memory of this process in bytes (Linux), to measure what compiling costs.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

pub fn generate(
    indicators: usize,
    events: usize,
    hits_per_mille: u64,
    seed: u64,
    dir: &Path,
) -> Result<ExitCode> {
    let values = write_indicators(indicators, seed, dir)?;
    let mut w = BufWriter::new(File::create(dir.join("events.jsonl"))?);
    for event in workload::events(events, seed, &values, hits_per_mille) {
        serde_json::to_writer(&mut w, &event)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    eprintln!(
        "wrote {indicators} indicators and {events} events to {}",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `count` generated indicators to DIR/indicators.jsonl; returns the values they use.
pub fn write_indicators(count: usize, seed: u64, dir: &Path) -> Result<workload::Values> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (patterns, values) = workload::indicators(count, seed);
    let mut w = BufWriter::new(File::create(dir.join("indicators.jsonl"))?);
    let mut rng = workload::Rng::new(seed);
    for (i, p) in patterns.iter().enumerate() {
        let id = format!("indicator--{}", workload::uuid4(&mut rng));
        let indicator = json!({"type": "indicator", "spec_version": "2.1", "id": id,
            "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
            "name": format!("generated {i}"), "pattern": p, "pattern_type": "stix",
            "valid_from": "2025-01-01T00:00:00Z"});
        serde_json::to_writer(&mut w, &indicator)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(values)
}

fn read_events(path: &Path) -> Result<Vec<Value>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line).with_context(|| format!("{}:{}", path.display(), n + 1))?,
        );
    }
    Ok(out)
}

/// Pre-decoded observations: what a telemetry decoder hands the matcher.
fn observations(events: &[Value]) -> Vec<Observation<'_>> {
    events.iter().map(workload::observation).collect()
}

/// Observations handed to the matcher at a time, as a decoder reading a socket would.
const BATCH: usize = 256;

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

pub fn run(
    indicators: &Path,
    events: &Path,
    runs: usize,
    baseline: bool,
    threads: usize,
) -> Result<ExitCode> {
    // Events first: decoded into fresh memory they lie together, as a decoder's output would;
    // decoded after the indicator file's parse trees are freed they would be scattered over
    // its holes, and the benchmark would measure the allocator's history instead of matching.
    let events = read_events(events)?;
    let patterns = super::indicators::read(indicators)?;
    let before = rss_bytes();
    let start = Instant::now();
    let (set, rejected) = PatternSet::compile(patterns.iter().map(|(p, v)| (p.as_str(), *v)));
    let compile = start.elapsed();
    let set_rss = rss_bytes().saturating_sub(before);
    let stats = set.stats();
    println!(
        "indicators: {} ({} rejected)",
        patterns.len(),
        rejected.len()
    );
    println!(
        "compile: {:.2} s, resident memory of the set: {:.0} MiB",
        compile.as_secs_f64(),
        set_rss as f64 / (1 << 20) as f64
    );
    println!(
        "index: {} equality, {} CIDR, {} substring keys over {} probes; {} single-, {} multi-observation patterns; {} unindexed parts",
        stats.eq_keys, stats.cidr_keys, stats.substring_keys, stats.probes, stats.single, stats.multi, stats.unindexed
    );
    let obs = observations(&events);
    let mut times = Vec::new();
    let mut hits_total = 0;
    let mut matcher = Matcher::new(&set);
    for _ in 0..runs {
        matcher = Matcher::new(&set);
        let mut hits = Vec::new();
        let start = Instant::now();
        for (i, batch) in obs.chunks(BATCH).enumerate() {
            matcher.observe_batch((i * BATCH) as u64, batch, &mut hits);
        }
        times.push(start.elapsed());
        hits_total = hits.len();
    }
    let (med, min, max) = median(times);
    let rate = |d: Duration, n: usize| n as f64 / d.as_secs_f64();
    println!(
        "indexed: {} observations, {} hits, {} candidates verified, {:.0} observations/s per core (median of {runs}; {:.0}–{:.0}); {} evaluation errors, {} window drops",
        obs.len(),
        hits_total,
        matcher.verified,
        rate(med, obs.len()),
        rate(max, obs.len()),
        rate(min, obs.len()),
        matcher.eval_errors,
        matcher.dropped()
    );
    // The fast path: the decoder hands over the values at the set's probes (copied here into
    // fresh memory, as a decoder allocates them) besides the observation.
    let store: Vec<Vec<(u32, Value)>> = obs
        .iter()
        .map(|o| {
            set.probe_values(o)
                .into_iter()
                .map(|(p, v)| (p, v.clone()))
                .collect()
        })
        .collect();
    let probed: Vec<Vec<(u32, &Value)>> = store
        .iter()
        .map(|vs| vs.iter().map(|(p, v)| (*p, v)).collect())
        .collect();
    let mut times = Vec::new();
    for _ in 0..runs {
        let mut matcher = Matcher::new(&set);
        let mut hits = Vec::new();
        let start = Instant::now();
        for (i, batch) in obs.chunks(BATCH).enumerate() {
            let from = i * BATCH;
            matcher.observe_probed(
                from as u64,
                batch,
                &probed[from..from + batch.len()],
                &mut hits,
            );
        }
        times.push(start.elapsed());
        hits_total = hits.len();
    }
    let (med, min, max) = median(times);
    println!(
        "indexed, probe values decoded: {hits_total} hits, {:.0} observations/s per core (median of {runs}; {:.0}–{:.0})",
        rate(med, obs.len()),
        rate(max, obs.len()),
        rate(min, obs.len()),
    );
    if threads > 1 {
        let rate = parallel_rate(&set, &obs, threads, runs);
        println!("indexed, {threads} threads sharing the set: {rate:.0} observations/s in all");
    }
    if !baseline {
        return Ok(ExitCode::SUCCESS);
    }
    let naive = naive_rate(&patterns, &obs);
    println!(
        "naive loop, 1,000 indicators: {naive:.0} observations/s per core; indexed / naive = {:.0}×",
        rate(med, obs.len()) / naive
    );
    Ok(ExitCode::SUCCESS)
}

/// Observations per second with `threads` matchers, each over a contiguous share of the
/// observations (median of `runs`).
fn parallel_rate(set: &PatternSet, obs: &[Observation<'_>], threads: usize, runs: usize) -> f64 {
    let share = obs.len().div_ceil(threads);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for part in obs.chunks(share) {
                scope.spawn(move || {
                    let mut matcher = Matcher::new(set);
                    let mut hits = Vec::new();
                    for (i, batch) in part.chunks(BATCH).enumerate() {
                        matcher.observe_batch((i * BATCH) as u64, batch, &mut hits);
                    }
                    hits.len()
                });
            }
        });
        times.push(start.elapsed());
    }
    let (med, _, _) = median(times);
    obs.len() as f64 / med.as_secs_f64()
}

/// Every one of the first 1,000 patterns evaluated on every observation — what a user of the
/// reference matcher does — on as many observations as fit in about two seconds.
fn naive_rate(patterns: &[(String, Version)], obs: &[Observation<'_>]) -> f64 {
    let compiled: Vec<Pattern> = patterns
        .iter()
        .take(1000)
        .filter_map(|(p, v)| Pattern::parse_version(p, *v).ok())
        .collect();
    let start = Instant::now();
    let mut n = 0;
    for o in obs {
        for p in &compiled {
            std::hint::black_box(p.evaluate_observations(std::slice::from_ref(o)).ok());
        }
        n += 1;
        if start.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}
