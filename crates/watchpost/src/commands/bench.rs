//! `watchpost bench …`: throughput measurements with a baseline in the same run, and the
//! deterministic workload generator (see docs/benchmarks.md).

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use watchpost_pattern::workload::{ipv4, uuid4, Rng};
use watchpost_stix::reader::{Location, Reader};
use watchpost_stix::Validator;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Parse + validate STIX files, against `serde_json::Value` parsing alone as the baseline.
    Stix {
        /// Bundles (or any STIX files) to measure; each is read into memory first.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Runs per file; the median is reported, with min and max.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Match telemetry observations against indicators with the indexed PatternSet: compile
    /// time, memory, throughput per core, against the naive loop on 1,000 indicators.
    Match {
        /// Indicators: a STIX bundle or JSON lines (see `bench gen match`).
        #[arg(long)]
        indicators: PathBuf,
        /// Observations, one JSON object per line: `{"time": unix-seconds, "objects": [SCOs]}`.
        #[arg(long)]
        events: PathBuf,
        /// Runs over the events; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Skip the naive-loop baseline (when profiling the indexed matcher alone).
        #[arg(long)]
        no_baseline: bool,
        /// Also measure with this many worker threads, each with its own matcher over a share
        /// of the events and all sharing one compiled set.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// The TAXII 2.1 server over HTTP on 127.0.0.1 with the SQLite store: ingest and paged-read
    /// throughput from 1,000 to 1,000,000 stored objects, and the same work on medallion.
    Taxii(super::bench_taxii::TaxiiArgs),
    /// The telemetry path end to end on Suricata EVE (decode, match, route, sightings), against
    /// a serde_json + HashSet baseline on the same lines.
    Watch {
        /// Indicators: a STIX bundle or JSON lines (see `bench gen watch`).
        #[arg(long)]
        indicators: PathBuf,
        /// EVE JSON lines.
        #[arg(long)]
        eve: PathBuf,
        /// A directory (JSON) to route matches with.
        #[arg(long)]
        directory: Option<PathBuf>,
    },
    /// The analyst console's queries on 1,000,000 stored objects and 100,000 sightings (the
    /// database is filled on first use and reused).
    Console(super::bench_console::ConsoleArgs),
    /// Hub-to-hub throughput: one hub pushes new objects to a peer over TAXII 2.1 on 127.0.0.1
    /// (read as the peer, signed, checked and stored by the receiver).
    Federation(super::bench_federation::FederationArgs),
    /// Generate deterministic workloads.
    #[command(subcommand)]
    Gen(GenCommand),
}

#[derive(Subcommand)]
pub enum GenCommand {
    /// Write indicators (STIX JSON lines) in feed-like proportions, and events that hit
    /// them at a small rate, into DIR/indicators.jsonl and DIR/events.jsonl.
    Match {
        /// Number of indicators.
        #[arg(long, default_value_t = 1_000_000)]
        indicators: usize,
        /// Number of events.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Events per thousand that carry an indicator's value.
        #[arg(long, default_value_t = 5)]
        hits_per_mille: u64,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Directory to write into.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Write indicators and Suricata EVE lines that hit them at a small rate, into
    /// DIR/indicators.jsonl and DIR/eve.json.
    Watch {
        /// Number of indicators.
        #[arg(long, default_value_t = 1_000_000)]
        indicators: usize,
        /// Number of EVE lines.
        #[arg(long, default_value_t = 10_000_000)]
        lines: usize,
        /// Lines per thousand that carry an indicator's value.
        #[arg(long, default_value_t = 5)]
        hits_per_mille: u64,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Directory to write into.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Write a STIX bundle of about SIZE_MB megabytes (indicators, malware, relationships,
    /// sightings and observables in feed-like proportions).
    Stix {
        /// Approximate size of the bundle in megabytes.
        #[arg(long, default_value_t = 100)]
        size_mb: u64,
        /// Seed of the generator; the same seed gives the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to write the bundle.
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(cmd: BenchCommand) -> Result<ExitCode> {
    match cmd {
        BenchCommand::Stix { files, runs } => bench_stix(&files, runs.max(1)),
        BenchCommand::Taxii(args) => super::bench_taxii::run(args),
        BenchCommand::Console(args) => super::bench_console::run(args),
        BenchCommand::Federation(args) => super::bench_federation::run(args),
        BenchCommand::Watch {
            indicators,
            eve,
            directory,
        } => super::bench_watch::run(&indicators, &eve, directory.as_deref()),
        BenchCommand::Gen(GenCommand::Watch {
            indicators,
            lines,
            hits_per_mille,
            seed,
            dir,
        }) => super::bench_watch::generate(indicators, lines, hits_per_mille, seed, &dir),
        BenchCommand::Gen(GenCommand::Stix { size_mb, seed, out }) => gen_stix(size_mb, seed, &out),
        BenchCommand::Match {
            indicators,
            events,
            runs,
            no_baseline,
            threads,
        } => super::bench_match::run(
            &indicators,
            &events,
            runs.max(1),
            !no_baseline,
            threads.max(1),
        ),
        BenchCommand::Gen(GenCommand::Match {
            indicators,
            events,
            hits_per_mille,
            seed,
            dir,
        }) => super::bench_match::generate(indicators, events, hits_per_mille, seed, &dir),
    }
}

struct Stats {
    median: Duration,
    min: Duration,
    max: Duration,
}

fn measure(runs: usize, mut work: impl FnMut() -> usize) -> (Stats, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut count = 0;
    for _ in 0..runs {
        let start = Instant::now();
        count = std::hint::black_box(work());
        times.push(start.elapsed());
    }
    times.sort();
    let stats = Stats {
        median: times[times.len() / 2],
        min: times[0],
        max: times[times.len() - 1],
    };
    (stats, count)
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn bench_stix(files: &[PathBuf], runs: usize) -> Result<ExitCode> {
    let validator = Validator::new();
    println!("file\tMB\tobjects\tbaseline MB/s\tours MB/s\tours objects/s\tours/baseline\tinvalid");
    for path in files {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let (base, _) = measure(runs, || {
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            v.get("objects")
                .and_then(Value::as_array)
                .map_or(1, Vec::len)
        });
        let mut invalid = 0;
        let (ours, objects) = measure(runs, || {
            let mut issues = Vec::new();
            let mut count = 0;
            invalid = 0;
            for entry in Reader::new(&bytes[..]).flatten() {
                if entry.location == Location::Bundle {
                    continue;
                }
                count += 1;
                issues.clear();
                match &entry.value {
                    Ok(v) => validator.validate_into(v, &mut issues),
                    Err(_) => invalid += 1,
                }
                invalid += usize::from(!issues.is_empty());
            }
            count
        });
        println!(
            "{}\t{:.1}\t{}\t{:.0} ({:.0}–{:.0})\t{:.0} ({:.0}–{:.0})\t{:.0}\t{:.0} %\t{}",
            path.display(),
            bytes.len() as f64 / 1e6,
            objects,
            mb_per_s(bytes.len(), base.median),
            mb_per_s(bytes.len(), base.max),
            mb_per_s(bytes.len(), base.min),
            mb_per_s(bytes.len(), ours.median),
            mb_per_s(bytes.len(), ours.max),
            mb_per_s(bytes.len(), ours.min),
            objects as f64 / ours.median.as_secs_f64(),
            100.0 * base.median.as_secs_f64() / ours.median.as_secs_f64(),
            invalid,
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn gen_stix(size_mb: u64, seed: u64, out: &PathBuf) -> Result<ExitCode> {
    let target = size_mb * 1_000_000;
    let file = File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut w = BufWriter::new(file);
    let mut rng = Rng::new(seed);
    write!(
        w,
        "{{\"type\": \"bundle\", \"id\": \"bundle--{}\", \"objects\": [",
        uuid4(&mut rng)
    )?;
    let identity = format!("identity--{}", uuid4(&mut rng));
    let mut written = 0u64;
    let mut count = 0u64;
    let mut malware_ids = Vec::new();
    while written < target {
        let object = gen_object(&mut rng, count, &identity, &mut malware_ids);
        let text = serde_json::to_string(&object)?;
        if count > 0 {
            w.write_all(b",\n")?;
        }
        w.write_all(text.as_bytes())?;
        written += text.len() as u64 + 2;
        count += 1;
    }
    writeln!(w, "]}}")?;
    w.flush()?;
    eprintln!(
        "wrote {count} objects, {:.1} MB, to {}",
        written as f64 / 1e6,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn gen_object(rng: &mut Rng, n: u64, identity: &str, malware: &mut Vec<String>) -> Value {
    let day = 1 + rng.next_u64() % 28;
    let created = format!(
        "2025-{:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + n % 12,
        n % 24,
        rng.next_u64() % 60,
        rng.next_u64() % 60,
        rng.next_u64() % 1000
    );
    let common = |kind: &str, rng: &mut Rng| {
        json!({"type": kind, "spec_version": "2.1", "id": format!("{kind}--{}", uuid4(rng)),
               "created": created, "modified": created, "created_by_ref": identity,
               "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]})
    };
    let mut o = common(pick(rng.next_u64(), n, malware.is_empty()), rng);
    let kind = o["type"].as_str().unwrap_or_default().to_string();
    let m = o.as_object_mut().map(std::mem::take).unwrap_or_default();
    let mut m = m;
    match kind.as_str() {
        "indicator" => {
            let pattern = match rng.next_u64() % 4 {
                0 | 1 => format!("[ipv4-addr:value = '{}']", ipv4(rng)),
                2 => format!(
                    "[domain-name:value = 'h{:x}.example.net']",
                    rng.next_u64() >> 20
                ),
                _ => format!(
                    "[file:hashes.'SHA-256' = '{:016x}{:016x}{:016x}{:016x}']",
                    rng.next_u64(),
                    rng.next_u64(),
                    rng.next_u64(),
                    rng.next_u64()
                ),
            };
            m.insert("name".into(), json!(format!("Indicator {n}")));
            m.insert("description".into(), json!("Observed in a phishing campaign against the energy sector; block at the perimeter and report sightings to the national CERT."));
            m.insert("indicator_types".into(), json!(["malicious-activity"]));
            m.insert("pattern".into(), json!(pattern));
            m.insert("pattern_type".into(), json!("stix"));
            m.insert("valid_from".into(), json!(created));
            m.insert("labels".into(), json!(["phishing", "energy"]));
            m.insert("confidence".into(), json!(rng.next_u64() % 101));
        }
        "malware" => {
            m.insert("name".into(), json!(format!("Family{}", n % 977)));
            m.insert("is_family".into(), json!(true));
            m.insert("malware_types".into(), json!(["remote-access-trojan"]));
            m.insert("external_references".into(), json!([{"source_name": "vendor", "url": format!("https://example.org/malware/{n}")}]));
            malware.push(m["id"].as_str().unwrap_or_default().to_string());
        }
        "relationship" | "sighting" => {
            let target = malware[(rng.next_u64() % malware.len() as u64) as usize].clone();
            if kind == "relationship" {
                m.insert("relationship_type".into(), json!("indicates"));
                m.insert(
                    "source_ref".into(),
                    json!(format!("indicator--{}", uuid4(rng))),
                );
                m.insert("target_ref".into(), json!(target));
            } else {
                m.insert(
                    "sighting_of_ref".into(),
                    json!(format!("indicator--{}", uuid4(rng))),
                );
                m.insert("where_sighted_refs".into(), json!([identity]));
                m.insert("count".into(), json!(1 + rng.next_u64() % 50));
                m.insert("first_seen".into(), json!(created));
                m.insert("last_seen".into(), json!(created));
            }
        }
        _ => {
            let value = if rng.next_u64() % 2 == 0 {
                ipv4(rng)
            } else {
                format!("h{:x}.example.org", rng.next_u64() >> 24)
            };
            let sco = if value.ends_with(".org") {
                "domain-name"
            } else {
                "ipv4-addr"
            };
            m = serde_json::Map::new();
            m.insert("type".into(), json!(sco));
            m.insert("value".into(), json!(value));
            let id = watchpost_stix::id::deterministic_sco_id(&m).unwrap_or_default();
            m.insert("id".into(), json!(id));
            m.insert("spec_version".into(), json!("2.1"));
        }
    }
    Value::Object(m)
}

/// Feed-like proportions: indicators dominate, then observables and relationships.
fn pick(r: u64, n: u64, no_malware: bool) -> &'static str {
    if no_malware || n % 50 == 0 {
        return "malware";
    }
    match r % 10 {
        0..=4 => "indicator",
        5 | 6 => "relationship",
        7 => "sighting",
        _ => "ipv4-addr",
    }
}
