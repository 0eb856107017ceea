//! `watchpost bench watch` and `bench gen watch`: the telemetry path end to end (read lines →
//! decode → match → route → sightings) on Suricata EVE, against a baseline that only decodes
//! the same lines into a typed struct with serde_json and looks their IP and domain fields up
//! in a `HashSet`.

use super::matching::{Batcher, Plan};
use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::json;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use watchpost_pattern::workload::{self, Rng};
use watchpost_pattern::PatternSet;
use watchpost_stix::Timestamp;
use watchpost_telemetry::eve::Eve;
use watchpost_telemetry::Stream;
use watchpost_warn::sighting::{Aggregator, Match};
use watchpost_warn::Router;

/// Writes DIR/indicators.jsonl (`count` indicators, the mix of `bench gen match`) and
/// DIR/eve.json (`lines` EVE lines: flow, dns, http, tls, fileinfo), about `hits_per_mille` in a
/// thousand lines carrying an indicator's value.
pub fn generate(
    count: usize,
    lines: usize,
    hits_per_mille: u64,
    seed: u64,
    dir: &Path,
) -> Result<ExitCode> {
    let values = super::bench_match::write_indicators(count, seed, dir)?;
    let mut w = BufWriter::new(File::create(dir.join("eve.json"))?);
    let mut rng = Rng::new(seed ^ 0xe7e);
    let base = 1_735_689_600_000_000i64; // 2025-01-01
    for i in 0..lines {
        let hit = rng.below(1000) < hits_per_mille;
        let pick =
            |list: &Vec<String>, fresh: &mut dyn FnMut(&mut Rng) -> String, rng: &mut Rng| {
                if hit && !list.is_empty() {
                    list[rng.below(list.len() as u64) as usize].clone()
                } else {
                    fresh(rng)
                }
            };
        let ts = Timestamp::from_unix_micros(base + i as i64 * 1000)
            .to_string()
            .replace('Z', "+0000");
        let src = workload::ipv4(&mut rng);
        let dst = pick(&values.ips, &mut workload::ipv4, &mut rng);
        let line = match rng.below(100) {
            0..=39 => {
                json!({"timestamp": ts, "event_type": "flow", "src_ip": src, "src_port": 40000 + rng.below(20000), "dest_ip": dst, "dest_port": 443, "proto": "TCP",
                "flow": {"pkts_toserver": 10, "pkts_toclient": 12, "bytes_toserver": 1200, "bytes_toclient": 5400, "start": ts}})
            }
            40..=64 => {
                json!({"timestamp": ts, "event_type": "dns", "src_ip": src, "src_port": 53000, "dest_ip": "10.0.0.53", "dest_port": 53, "proto": "UDP",
                "dns": {"type": "query", "id": 1, "rrname": pick(&values.domains, &mut workload::domain, &mut rng), "rrtype": "A", "tx_id": 0}})
            }
            65..=84 => {
                let host = pick(&values.url_hosts, &mut workload::domain, &mut rng);
                json!({"timestamp": ts, "event_type": "http", "src_ip": src, "src_port": 41000, "dest_ip": dst, "dest_port": 80, "proto": "TCP",
                    "http": {"hostname": host, "url": "/gate.php", "http_user_agent": "Mozilla/5.0", "http_method": "GET", "protocol": "HTTP/1.1", "status": 200, "length": 512}})
            }
            85..=94 => {
                json!({"timestamp": ts, "event_type": "tls", "src_ip": src, "src_port": 42000, "dest_ip": dst, "dest_port": 443, "proto": "TCP",
                "tls": {"sni": pick(&values.domains, &mut workload::domain, &mut rng), "version": "TLS 1.3"}})
            }
            _ => {
                json!({"timestamp": ts, "event_type": "fileinfo", "src_ip": dst, "src_port": 80, "dest_ip": src, "dest_port": 43000, "proto": "TCP",
                "fileinfo": {"filename": "/update.bin", "sha256": pick(&values.hashes, &mut workload::sha256, &mut rng), "size": 123456, "state": "CLOSED", "stored": false}})
            }
        };
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    eprintln!(
        "wrote {count} indicators and {lines} EVE lines to {}",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Deserialize)]
struct Lite<'a> {
    #[serde(borrow)]
    src_ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dest_ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dns: Option<Named<'a>>,
    #[serde(borrow)]
    http: Option<Named<'a>>,
    #[serde(borrow)]
    tls: Option<Named<'a>>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow, alias = "hostname", alias = "sni")]
    rrname: Option<Cow<'a, str>>,
}

/// The equality values of simple `[ipv4-addr:value = '…']` and `[domain-name:value = '…']`
/// patterns: what the baseline can look up.
fn baseline_values(patterns: &[super::indicators::IndicatorPattern]) -> HashSet<String> {
    let mut set = HashSet::new();
    for (_, p, _) in patterns {
        for prefix in ["[ipv4-addr:value = '", "[domain-name:value = '"] {
            if let Some(rest) = p.strip_prefix(prefix) {
                if let Some(v) = rest.strip_suffix("']") {
                    set.insert(v.to_string());
                }
            }
        }
    }
    set
}

fn baseline(path: &Path, values: &HashSet<String>) -> Result<(u64, u64)> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let (mut lines, mut hits, mut buf) = (0u64, 0u64, Vec::new());
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok((lines, hits));
        }
        lines += 1;
        let Ok(e) = serde_json::from_slice::<Lite>(&buf) else {
            continue;
        };
        let names = [e.dns, e.http, e.tls]
            .into_iter()
            .flatten()
            .filter_map(|n| n.rrname);
        let found = [e.src_ip, e.dest_ip]
            .into_iter()
            .flatten()
            .chain(names)
            .any(|v| values.contains(v.as_ref()));
        hits += u64::from(found);
    }
}

/// The fast path's reading alone: lines probed for the set's values, nothing matched.
fn probe_only(path: &Path, set: &PatternSet) -> Result<u64> {
    let mut stream = Stream::new(
        BufReader::with_capacity(1 << 20, File::open(path)?),
        Eve,
        "bench",
    );
    let plan = Plan::new(set, stream.decoder());
    let wanted = plan.as_ref().map(Plan::wanted).unwrap_or_default();
    let mut values = 0u64;
    while stream
        .next_probed(wanted, &mut |_, _| values += 1)?
        .is_some()
    {}
    Ok(values)
}

/// The watch path: decode, match in batches, route each match, aggregate sightings.
fn ours(
    path: &Path,
    set: &PatternSet,
    patterns: &[super::indicators::IndicatorPattern],
    router: &Router,
) -> Result<(u64, u64, usize)> {
    let mut stream = Stream::new(
        BufReader::with_capacity(1 << 20, File::open(path)?),
        Eve,
        "bench",
    )
    .quarantine(std::io::sink());
    let mut batcher = Batcher::new(set);
    let plan = Plan::new(set, stream.decoder());
    let mut aggregator = Aggregator::new(3600);
    let (mut seq, mut matches, mut hits) = (0u64, 0u64, Vec::new());
    let now = Timestamp::now().unix_micros();
    let mut decoded = 0;
    while let Some(batch) = batcher.next(&mut stream, plan.as_ref(), seq, now, &mut hits)? {
        decoded += batch.verified.len();
        for hit in &hits {
            matches += 1;
            let last = hit.observations.iter().max().copied();
            let Some((_, _, event)) = batch.verified.iter().find(|(n, _, _)| Some(*n) == last)
            else {
                continue;
            };
            let org = router
                .responsible_for_objects(event.objects.iter().map(|(_, o)| o))
                .map(|i| i.to_string())
                .unwrap_or_default();
            aggregator.record(
                Match {
                    indicator: &patterns[hit.pattern as usize].0,
                    org: &org,
                    time: event.time.unwrap_or(now),
                },
                now,
            );
        }
        seq += batch.len as u64;
    }
    let flushing = Instant::now();
    let sightings = aggregator.flush(now, |_| Vec::new()).len();
    eprintln!(
        "watch path: {} lines decoded in full (of {}), {} candidate parts verified, {} sightings made in {:.2} s",
        decoded,
        stream.counts().lines,
        batcher.matcher.verified,
        sightings,
        flushing.elapsed().as_secs_f64()
    );
    Ok((stream.counts().lines, matches, sightings))
}

pub fn run(indicators: &Path, eve: &Path, directory: Option<&Path>) -> Result<ExitCode> {
    let patterns = super::indicators::read_with_ids(indicators)?;
    let start = Instant::now();
    let (set, _) = PatternSet::compile(patterns.iter().map(|(_, p, v)| (p.as_str(), *v)));
    let compile = start.elapsed();
    let entries = match directory {
        Some(d) => {
            let text = std::fs::read_to_string(d)
                .with_context(|| format!("cannot read {}", d.display()))?;
            watchpost_warn::directory::from_json(&text).0
        }
        None => Vec::new(),
    };
    let router = Router::new(&entries);
    let values = baseline_values(&patterns);
    let bytes = std::fs::metadata(eve)?.len() as f64;
    // Warm the page cache, so both runs read from memory.
    baseline(eve, &values)?;
    let start = Instant::now();
    let (lines, base_hits) = baseline(eve, &values)?;
    let base = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let values = probe_only(eve, &set)?;
    let probing = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let (our_lines, matches, sightings) = ours(eve, &set, &patterns, &router)?;
    let our = start.elapsed().as_secs_f64();
    println!(
        "{} indicators compiled in {:.2} s; {lines} EVE lines, {:.0} MB",
        patterns.len(),
        compile.as_secs_f64(),
        bytes / 1e6
    );
    println!(
        "{:>28} {:>14} {:>10} {:>10}",
        "", "lines/s", "MB/s", "matches"
    );
    println!(
        "{:>28} {:>14.0} {:>10.1} {:>10}",
        "baseline (serde_json+HashSet)",
        lines as f64 / base,
        bytes / 1e6 / base,
        base_hits
    );
    println!(
        "{:>28} {:>14.0} {:>10.1} {:>10}",
        "(its reading alone)",
        lines as f64 / probing,
        bytes / 1e6 / probing,
        format!("{values} values")
    );
    println!(
        "{:>28} {:>14.0} {:>10.1} {:>10}",
        "watchpost watch path",
        our_lines as f64 / our,
        bytes / 1e6 / our,
        matches
    );
    println!(
        "ratio to the baseline: {:.2}; {sightings} sightings",
        base / our
    );
    Ok(ExitCode::SUCCESS)
}
