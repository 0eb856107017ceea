//! `watchpost pattern …`: check patterns, and the conformance interface `eval`.

use anyhow::Result;
use clap::Subcommand;
use serde_json::{json, Value};
use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;
use watchpost_pattern::{ErrorKind, Pattern, Version};

#[derive(Subcommand)]
pub enum PatternCommand {
    /// Check a STIX pattern: prints `valid`, or the error with a caret under its column.
    Check {
        /// The pattern, quoted for the shell.
        pattern: String,
        /// Grammar version: 2.0 or 2.1.
        #[arg(long, default_value = "2.1")]
        stix_version: String,
    },
    /// The conformance interface: reads JSON lines
    /// `{"pattern": …, "observations": […], "stix_version": "2.0"|"2.1"}` on stdin (with
    /// `"mode": "validate"`, the pattern validator's rules apply as well) and writes
    /// one line per input line: `{"matched": true, "sdos": […]}`, `{"matched": false}` or
    /// `{"error": {"kind": "syntax"|"semantic"|"input", "message": …, "column": N}}`.
    Eval,
    /// Compile indicators into a pattern set and report what it holds: counts by operator
    /// and object type, index keys, unindexed patterns, memory.
    Stats {
        /// Indicators: a STIX bundle or JSON lines.
        #[arg(long)]
        indicators: std::path::PathBuf,
    },
}

pub fn run(cmd: PatternCommand) -> Result<ExitCode> {
    match cmd {
        PatternCommand::Check {
            pattern,
            stix_version,
        } => check(&pattern, &stix_version),
        PatternCommand::Eval => eval(),
        PatternCommand::Stats { indicators } => stats(&indicators),
    }
}

fn version(text: &str) -> Result<Version> {
    Version::parse(text)
        .ok_or_else(|| anyhow::anyhow!("unknown STIX version `{text}`: expected 2.0 or 2.1"))
}

fn check(pattern: &str, stix_version: &str) -> Result<ExitCode> {
    match Pattern::validate_version(pattern, version(stix_version)?) {
        Ok(p) => {
            for w in p.warnings() {
                let as_error = watchpost_pattern::PatternError {
                    kind: ErrorKind::Semantic,
                    column: w.column,
                    message: w.message.clone(),
                };
                println!(
                    "{}",
                    as_error.render(pattern).replacen("error:", "warning:", 1)
                );
            }
            println!("valid");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}", e.render(pattern));
            Ok(ExitCode::from(1))
        }
    }
}

fn eval() -> Result<ExitCode> {
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = eval_line(&line);
        serde_json::to_writer(&mut out, &answer)?;
        out.write_all(b"\n")?;
        // A driver waits for each answer before sending the next case.
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn error(kind: &str, message: &str, column: Option<usize>) -> Value {
    let mut e = json!({"kind": kind, "message": message});
    if let Some(c) = column {
        e["column"] = json!(c);
    }
    json!({ "error": e })
}

/// Answers one conformance request; never fails, so one bad line cannot stop the stream.
fn eval_line(line: &str) -> Value {
    let request: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return error("input", &format!("the line is not JSON: {e}"), None),
    };
    let Some(pattern) = request.get("pattern").and_then(Value::as_str) else {
        return error("input", "expected a \"pattern\" string", None);
    };
    let version = match request.get("stix_version") {
        None | Some(Value::Null) => Version::V21,
        Some(v) => match v.as_str().and_then(Version::parse) {
            Some(v) => v,
            None => return error("input", "stix_version must be \"2.0\" or \"2.1\"", None),
        },
    };
    let observations = match request.get("observations") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        Some(_) => return error("input", "observations must be a list", None),
    };
    // `"mode": "validate"` applies the pattern validator's rules; the default is the
    // matcher's, which accepts what it can evaluate.
    let validate = request.get("mode").and_then(Value::as_str) == Some("validate");
    let parsed = if validate {
        Pattern::validate_version(pattern, version)
    } else {
        Pattern::parse_version(pattern, version)
    };
    let compiled = match parsed {
        Ok(p) => p,
        Err(e) => {
            let kind = match e.kind {
                ErrorKind::Syntax => "syntax",
                ErrorKind::Semantic => "semantic",
            };
            return error(kind, &e.message, Some(e.column));
        }
    };
    match compiled.evaluate(&observations) {
        Ok(Some(sdos)) => json!({"matched": true, "sdos": sdos}),
        Ok(None) => json!({"matched": false}),
        Err(e) => error("input", &e.message, None),
    }
}

/// `watchpost pattern stats`: what a set of indicators compiles to.
pub fn stats(indicators: &std::path::Path) -> Result<ExitCode> {
    let patterns = super::indicators::read(indicators)?;
    let start = std::time::Instant::now();
    let (set, rejected) =
        watchpost_pattern::PatternSet::compile(patterns.iter().map(|(p, v)| (p.as_str(), *v)));
    let elapsed = start.elapsed();
    let s = set.stats();
    println!("indicators with STIX patterns: {}", patterns.len());
    println!("rejected (not valid patterns): {}", rejected.len());
    for r in rejected.iter().take(10) {
        println!("  #{}: {}", r.index, r.error);
    }
    println!(
        "compiled in {:.2} s; index memory about {:.1} MiB",
        elapsed.as_secs_f64(),
        s.heap_bytes as f64 / (1 << 20) as f64
    );
    println!("single-observation patterns: {}", s.single);
    println!("multi-observation patterns (kept in windows): {}", s.multi);
    println!(
        "index keys: {} equality, {} CIDR, {} substring, over {} object paths",
        s.eq_keys, s.cidr_keys, s.substring_keys, s.probes
    );
    println!(
        "unindexed [...] parts (evaluated on every observation): {}",
        s.unindexed
    );
    println!("comparisons by operator:");
    for (op, n) in &s.operators {
        println!("  {op:<10} {n}");
    }
    println!("comparisons by object type:");
    for (t, n) in &s.object_types {
        println!("  {t:<22} {n}");
    }
    Ok(ExitCode::SUCCESS)
}
