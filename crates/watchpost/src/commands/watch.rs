//! `watch`: sensor telemetry matched against indicators, one JSON line per match. Without a hub
//! (`--indicators FILE`), for a sensor box or a script.

use super::live::{Compiled, Live};
use super::matching::{Batcher, Matched, Plan};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use watchpost_pattern::Hit;
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
    /// With a hub: how often (seconds) to check whether the indicators changed; a changed set
    /// is compiled in the background and matching moves to it between batches.
    #[arg(long, default_value_t = 10)]
    pub reload_every: u64,
    /// The hub's warning settings (JSON: secret, ack_base_url, dedup_window_secs,
    /// escalate_after_secs, delivery, smtp); WATCHPOST_SECRET overrides the secret.
    #[arg(long, env = "WATCHPOST_WARN_CONFIG")]
    pub warn_config: Option<PathBuf>,
    /// Where to write malformed lines (JSON lines with the source, line number and reason).
    #[arg(long, default_value = "watchpost-quarantine.jsonl")]
    pub quarantine: PathBuf,
    /// Keep reading the files as they grow, through rotation and truncation, like `tail -F`,
    /// until SIGINT or SIGTERM; files that do not exist yet are waited for. A Zeek directory
    /// is followed through the files it holds at the start: files added to it later are not
    /// read. Line numbers restart with each new file of a path.
    #[arg(long)]
    pub follow: bool,
}

/// How many recent observations are remembered for reporting multi-observation matches.
const REMEMBERED: u64 = 100_000;

/// Makes a fresh decoder for each file a source reads (a rotated Zeek log starts with its own
/// header).
pub(super) type MakeDecoder = Box<dyn Fn() -> Box<dyn Decoder>>;

/// One telemetry source to read.
pub(super) struct Source {
    pub(super) name: String,
    pub(super) path: PathBuf,
    pub(super) decoder: MakeDecoder,
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
}

/// The files of a `--zeek` path: the file, or a directory's `*.log` and `*.json` files.
fn zeek_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in
        std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?
    {
        let p = entry?.path();
        if p.extension().is_some_and(|e| e == "log" || e == "json") {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

fn source(path: &Path, decoder: MakeDecoder) -> Source {
    Source {
        name: path.display().to_string(),
        path: path.to_path_buf(),
        decoder,
    }
}

fn sources(args: &WatchArgs) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for path in &args.eve {
        out.push(source(path, Box::new(|| Box::new(Eve))));
    }
    for path in &args.zeek {
        for f in zeek_files(path)? {
            let name = f.display().to_string();
            out.push(source(
                &f,
                Box::new(move || Box::new(Zeek::for_file(&name))),
            ));
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
            let decoder = decoder.clone();
            out.push(source(path, Box::new(move || Box::new(decoder.clone()))));
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
            scan(&args, &Live::new(Compiled::new(indicators)), |_, _| Ok(()))?;
            Ok(ExitCode::SUCCESS)
        }
        None => super::watch_hub::run(&args),
    }
}

/// Matches every source against the indicators of `live` (moving to a newer set between
/// batches when one is published), writes each match to `--sightings-out`, and hands it to
/// `on_match` with the indicator's id and the observation that completed it.
pub fn scan(
    args: &WatchArgs,
    live: &Live,
    mut on_match: impl FnMut(&str, &Seen) -> Result<()>,
) -> Result<Counts> {
    let quarantine = File::create(&args.quarantine)
        .with_context(|| format!("cannot create {}", args.quarantine.display()))?;
    let out: Box<dyn Write> = if args.sightings_out == Path::new("-") {
        Box::new(BufWriter::new(io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(
            File::create(&args.sightings_out)
                .with_context(|| format!("cannot create {}", args.sightings_out.display()))?,
        ))
    };
    let sources = sources(args)?;
    let mut report = Report {
        compiled: live.current().1,
        names: sources.iter().map(|s| s.name.as_str().into()).collect(),
        out,
        seen: BTreeMap::new(),
        seq: 0,
        matches: 0,
        on_match: &mut on_match,
    };
    let total = if args.follow {
        super::watch_follow::run(live, sources, &quarantine, &mut report)?
    } else {
        one_after_another(live, sources, &quarantine, &mut report)?
    };
    report.out.flush()?;
    eprintln!(
        "watchpost: {} lines, {} events, {} skipped, {} malformed (quarantined in {}), {} matches",
        total.lines,
        total.events,
        total.skipped,
        total.malformed,
        args.quarantine.display(),
        report.matches
    );
    Ok(total)
}

/// Reads the sources to their end, one after the other.
fn one_after_another(
    live: &Live,
    sources: Vec<Source>,
    quarantine: &File,
    report: &mut Report<'_>,
) -> Result<Counts> {
    // Every file is opened before any is read, so a missing one fails the run at once.
    let mut streams = Vec::new();
    for s in &sources {
        let stream =
            Stream::new(open(&s.path)?, (s.decoder)(), &s.name).quarantine(quarantine.try_clone()?);
        streams.push(stream);
    }
    let (mut total, mut hits, mut index) = (Counts::default(), Vec::new(), 0);
    'sets: loop {
        let (generation, compiled) = live.current();
        report.compiled = compiled.clone();
        let mut batcher = Batcher::new(&compiled.set);
        while let Some(stream) = streams.get_mut(index) {
            let plan = Plan::new(&compiled.set, stream.decoder());
            loop {
                if live.newer_than(generation) {
                    continue 'sets;
                }
                let now = Timestamp::now().unix_micros();
                let Some(batch) = batcher
                    .next(stream, plan.as_ref(), report.seq, now, &mut hits)
                    .with_context(|| format!("cannot read {}", sources[index].name))?
                else {
                    break;
                };
                report.batch(index, batch, &hits, now)?;
            }
            total += stream.counts();
            index += 1;
        }
        return Ok(total);
    }
}

/// Where matches go: `--sightings-out` and the caller's `on_match`, with the observations
/// recently seen (to name the lines of every observation of a match).
pub(super) struct Report<'a> {
    /// The set the hits of the current batch come from.
    pub(super) compiled: Arc<Compiled>,
    names: Vec<std::sync::Arc<str>>,
    pub(super) out: Box<dyn Write + 'a>,
    seen: BTreeMap<u64, Seen>,
    /// The number of the next event, over every source.
    pub(super) seq: u64,
    matches: u64,
    on_match: &'a mut dyn FnMut(&str, &Seen) -> Result<()>,
}

impl Report<'_> {
    /// Records a batch of source `index` and writes its `hits`.
    pub(super) fn batch(
        &mut self,
        index: usize,
        batch: Matched,
        hits: &[Hit],
        now: i64,
    ) -> Result<()> {
        for (number, line, event) in batch.verified {
            let seen_now = Seen {
                source: self.names[index].clone(),
                line,
                time: event.time.unwrap_or(now),
                event,
            };
            self.seen.insert(number, seen_now);
        }
        for hit in hits {
            self.matches += 1;
            writeln!(
                self.out,
                "{}",
                sighting(hit, &self.compiled.indicators, &self.seen)
            )?;
            if let Some(last) = hit.observations.iter().max().and_then(|s| self.seen.get(s)) {
                let indicator = &self.compiled.indicators[hit.pattern as usize].0;
                (self.on_match)(indicator, last)?;
            }
        }
        self.seq += batch.len as u64;
        let keep_from = self.seq.saturating_sub(REMEMBERED);
        self.seen = self.seen.split_off(&keep_from);
        Ok(())
    }
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
