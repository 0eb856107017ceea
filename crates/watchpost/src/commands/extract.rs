//! `watchpost extract FILE`: the IoCs of a report, with their character offsets and the MISP
//! warning lists their values are on.

use anyhow::{Context, Result};
use clap::Args;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use watchpost_exchange::extract::{Extractor, Ioc};
use watchpost_exchange::warninglist::{Hit, WarningLists};

/// Arguments of `watchpost extract`.
#[derive(Args)]
pub struct ExtractArgs {
    /// The report: plain text, Markdown, AsciiDoc… (read in bounded memory; bytes that are not
    /// UTF-8 are replaced).
    pub file: PathBuf,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints every IoC of the file: kind, value, character offset and length.
pub fn run(args: ExtractArgs) -> Result<ExitCode> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let lists = WarningLists::embedded();
    let mut failed: Option<std::io::Error> = None;
    let summary = Extractor::get()
        .extract_reader(BufReader::new(file), |ioc| {
            if failed.is_none() {
                let hits = lists.check(ioc.kind, &ioc.value);
                if let Err(e) = print(&mut out, &ioc, &hits, args.json) {
                    failed = Some(e);
                }
            }
        })
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    if let Some(e) = failed {
        return Err(e).context("cannot write the IoCs");
    }
    out.flush()?;
    if summary.invalid_utf8_chunks > 0 {
        eprintln!(
            "watchpost: {} holds bytes that are not UTF-8; they were replaced by U+FFFD (offsets count each replacement as one character)",
            args.file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One IoC: a table row (offset, kind, value, and the warning lists it is on), or a JSON line.
fn print(out: &mut impl Write, ioc: &Ioc, hits: &[Hit], json: bool) -> std::io::Result<()> {
    if json {
        let line = serde_json::json!({
            "kind": ioc.kind.name(),
            "value": ioc.value,
            "offset": ioc.offset,
            "len": ioc.len,
            "defanged": ioc.defanged,
            "warninglist": WarningLists::flag_value(hits),
        });
        writeln!(out, "{line}")
    } else {
        let flag: Vec<String> = hits
            .iter()
            .map(|h| format!("{} ({})", h.list, h.name))
            .collect();
        let flag = if flag.is_empty() {
            String::new()
        } else {
            format!("  [warning list: {}]", flag.join(", "))
        };
        writeln!(
            out,
            "{:>10}  {:<16} {}{flag}",
            ioc.offset,
            ioc.kind.name(),
            ioc.value
        )
    }
}
