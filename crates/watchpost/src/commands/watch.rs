//! `watch`: sensor telemetry matched against indicators, one JSON line per match. Without a hub
//! (`--indicators FILE`), for a sensor box or a script.

use super::indicators::IndicatorPattern;
use super::matching::{Batcher, Plan};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use watchpost_pattern::{Hit, PatternSet};
use watchpost_stix::Timestamp;
use watchpost_telemetry::eve::Eve;
use watchpost_telemetry::mapped::{Mapped, Mapping};
use watchpost_telemetry::zeek::Zeek;
use watchpost_telemetry::{Counts, Decoder, Event, Stream};

#[derive(Args)]
pub struct WatchArgs {
    /// Indicators to match (a STIX bundle or JSON lines), without a hub; when omitted, the
    /// hub's indicators are matched and sightings stored (see --db).
    #[arg(long)]
    pub indicators: Option<PathBuf>,
    /// The hub's database: its indicators, its directory, and where sightings go.
    #[arg(long, env = "WATCHPOST_DB", default_value = "sqlite://watchpost.db")]
    pub db: String,
    /// The collection sightings are stored in (with a hub).
    #[arg(long)]
    pub sightings_collection: Option<String>,
    /// The organisation that stores the sightings; it must be allowed to write there.
    #[arg(long)]
    pub org: Option<String>,
    /// Sightings aggregate the matches of an indicator in one organisation over this many
    /// seconds.
    #[arg(long, default_value_t = 3600)]
    pub window: u32,
    /// Suricata EVE JSON files; `-` reads standard input.
    #[arg(long)]
    pub eve: Vec<PathBuf>,
    /// Zeek logs (TSV or JSON): files, or directories of `*.log` and `*.json` files.
    #[arg(long)]
    pub zeek: Vec<PathBuf>,
    /// Plain JSON-lines logs (proxy, resolver, firewall…), read through --mapping.
    #[arg(long, requires = "mapping")]
    pub json: Vec<PathBuf>,
    /// The field mapping of the --json logs (see `watchpost_telemetry::mapped`).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Where to write one JSON line per match; `-` is standard output.
    #[arg(long, default_value = "-")]
    pub sightings_out: PathBuf,
    /// The hub's warning settings (JSON: secret, ack_base_url, dedup_window_secs,
    /// escalate_after_secs, delivery, smtp); WATCHPOST_SECRET overrides the secret.
    #[arg(long, env = "WATCHPOST_WARN_CONFIG")]
    pub warn_config: Option<PathBuf>,
    /// Where to write malformed lines (JSON lines with the source, line number and reason).
    #[arg(long, default_value = "watchpost-quarantine.jsonl")]
    pub quarantine: PathBuf,
}

/// How many recent observations are remembered for reporting multi-observation matches.
const REMEMBERED: u64 = 100_000;

/// One telemetry source to read.
struct Source {
    name: String,
    reader: Box<dyn BufRead>,
    decoder: Box<dyn Decoder>,
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
}

fn sources(args: &WatchArgs) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for path in &args.eve {
        out.push(Source {
            name: path.display().to_string(),
            reader: open(path)?,
            decoder: Box::new(Eve),
        });
    }
    for path in &args.zeek {
        let mut files = Vec::new();
        if path.is_dir() {
            for entry in std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
            {
                let p = entry?.path();
                if p.extension().is_some_and(|e| e == "log" || e == "json") {
                    files.push(p);
                }
            }
            files.sort();
        } else {
            files.push(path.clone());
        }
        for f in files {
            let name = f.display().to_string();
            out.push(Source {
                decoder: Box::new(Zeek::for_file(&name)),
                reader: open(&f)?,
                name,
            });
        }
    }
    if let Some(mapping) = &args.mapping {
        let text = std::fs::read_to_string(mapping)
            .with_context(|| format!("cannot read {}", mapping.display()))?;
        let parsed: Mapping = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a field mapping", mapping.display()))?;
        let decoder =
            Mapped::new(parsed).map_err(|e| anyhow::anyhow!("{}: {e}", mapping.display()))?;
        for path in &args.json {
            out.push(Source {
                name: path.display().to_string(),
                reader: open(path)?,
                decoder: Box::new(decoder.clone()),
            });
        }
    }
    if out.is_empty() {
        bail!("nothing to watch: give --eve FILE, --zeek PATH or --json FILE --mapping MAP");
    }
    Ok(out)
}

/// What is kept of an observation to report a match on it.
pub struct Seen {
    source: std::sync::Arc<str>,
    line: u64,
    /// When it happened, microseconds since the epoch.
    pub time: i64,
    /// The decoded event.
    pub event: Event,
}

impl Seen {
    /// The source it was read from (a file name).
    pub fn source_name(&self) -> &str {
        &self.source
    }

    /// Its line in the source.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// `{"time", "kind", "objects"}`, built only for observations that matched.
    fn observation(&self) -> Value {
        let objects: Map<String, Value> = self
            .event
            .objects
            .iter()
            .map(|(id, o)| (id.clone(), o.clone()))
            .collect();
        json!({"time": Timestamp::from_unix_micros(self.time).to_string(), "kind": self.event.kind, "objects": objects})
    }
}

pub fn run(args: WatchArgs) -> Result<ExitCode> {
    match &args.indicators {
        Some(path) => {
            let indicators = super::indicators::read_with_ids(path)?;
            scan(&args, &indicators, |_, _| Ok(()))?;
            Ok(ExitCode::SUCCESS)
        }
        None => super::watch_hub::run(&args),
    }
}

/// Matches every source against `indicators`, writes each match to `--sightings-out`, and
/// hands it to `on_match` with the observation that completed it.
pub fn scan(
    args: &WatchArgs,
    indicators: &[IndicatorPattern],
    mut on_match: impl FnMut(usize, &Seen) -> Result<()>,
) -> Result<Counts> {
    let (set, rejected) = PatternSet::compile(indicators.iter().map(|(_, p, v)| (p.as_str(), *v)));
    for r in &rejected {
        eprintln!(
            "watchpost: indicator {} skipped: {}",
            indicators[r.index].0, r.error
        );
    }
    let mut batcher = Batcher::new(&set);
    let quarantine = File::create(&args.quarantine)
        .with_context(|| format!("cannot create {}", args.quarantine.display()))?;
    let mut out: Box<dyn Write> = if args.sightings_out == Path::new("-") {
        Box::new(BufWriter::new(io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(
            File::create(&args.sightings_out)
                .with_context(|| format!("cannot create {}", args.sightings_out.display()))?,
        ))
    };
    let sources = sources(args)?;
    let (mut seq, mut matches, mut total) = (0u64, 0u64, Counts::default());
    let mut seen: BTreeMap<u64, Seen> = BTreeMap::new();
    let mut hits = Vec::new();
    for source in sources {
        let name: std::sync::Arc<str> = source.name.as_str().into();
        let quarantine = quarantine.try_clone()?;
        let mut stream =
            Stream::new(source.reader, source.decoder, &source.name).quarantine(quarantine);
        let plan = Plan::new(&set, stream.decoder());
        loop {
            let now = Timestamp::now().unix_micros();
            let Some(batch) = batcher
                .next(&mut stream, plan.as_ref(), seq, now, &mut hits)
                .with_context(|| format!("cannot read {}", source.name))?
            else {
                break;
            };
            for (number, line, event) in batch.verified {
                let time = event.time.unwrap_or(now);
                let seen_now = Seen {
                    source: name.clone(),
                    line,
                    time,
                    event,
                };
                seen.insert(number, seen_now);
            }
            for hit in &hits {
                matches += 1;
                writeln!(out, "{}", sighting(hit, indicators, &seen))?;
                if let Some(last) = hit.observations.iter().max().and_then(|s| seen.get(s)) {
                    on_match(hit.pattern as usize, last)?;
                }
            }
            seq += batch.len as u64;
            let keep_from = seq.saturating_sub(REMEMBERED);
            seen = seen.split_off(&keep_from);
        }
        total += stream.counts();
    }
    out.flush()?;
    eprintln!(
        "watchpost: {} lines, {} events, {} skipped, {} malformed (quarantined in {}), {} matches",
        total.lines,
        total.events,
        total.skipped,
        total.malformed,
        args.quarantine.display(),
        matches
    );
    Ok(total)
}

/// A match as one JSON line: the indicator, the observation that completed it (with its
/// source and line), and the lines of every observation of the binding.
fn sighting(
    hit: &Hit,
    indicators: &[(String, String, watchpost_pattern::Version)],
    seen: &BTreeMap<u64, Seen>,
) -> Value {
    let (id, pattern, _) = &indicators[hit.pattern as usize];
    let last = hit.observations.iter().max().and_then(|s| seen.get(s));
    let lines: Vec<Value> = hit
        .observations
        .iter()
        .filter_map(|s| seen.get(s))
        .map(|s| json!({"source": s.source_name(), "line": s.line}))
        .collect();
    json!({
        "indicator": id,
        "pattern": pattern,
        "source": last.map(Seen::source_name),
        "line": last.map(|s| s.line),
        "observation": last.map(Seen::observation),
        "observations": lines,
    })
}
