//! `watchpost stix …`: validate STIX files, compute deterministic SCO identifiers.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use watchpost_stix::reader::{Entry, Location, Reader};
use watchpost_stix::{id, Validator};

#[derive(Subcommand)]
pub enum StixCommand {
    /// Validate STIX 2.1 files: a bundle, a single object, a JSON array or JSON lines.
    ///
    /// Prints one line per problem (`file:objects[3].valid_until: …`) and a summary. Exits 1
    /// when any object is invalid, 2 when a file cannot be read to its end.
    Validate(ValidateArgs),
    /// Compute the deterministic identifier of each cyber-observable object read from stdin.
    ///
    /// Prints one id per object, or with --json the object with its `id` set.
    Id {
        /// Print each object with its id instead of the id alone.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct ValidateArgs {
    /// Files to validate; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Largest single object to accept, in bytes.
    #[arg(long, default_value_t = watchpost_stix::reader::DEFAULT_MAX_OBJECT_BYTES)]
    max_object_bytes: usize,
    /// Print only the summary.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(cmd: StixCommand) -> Result<ExitCode> {
    match cmd {
        StixCommand::Validate(args) => validate(&args),
        StixCommand::Id { json } => ids(json),
    }
}

/// Counts over all files.
#[derive(Default)]
struct Tally {
    objects: u64,
    invalid: u64,
    problems: u64,
    unreadable: u64,
}

fn open(path: &PathBuf) -> io::Result<Box<dyn Read>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(io::stdin().lock()))
    } else {
        Ok(Box::new(File::open(path)?))
    }
}

fn validate(args: &ValidateArgs) -> Result<ExitCode> {
    // Indicator patterns are checked by the pattern engine through the validator's hook.
    let validator = Validator::new().with_pattern_syntax(watchpost_pattern::SyntaxChecker);
    let mut tally = Tally::default();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for path in &args.files {
        let name = path.display().to_string();
        match open(path) {
            Ok(source) => {
                let reader = Reader::new(source).max_object_bytes(args.max_object_bytes);
                validate_stream(reader, &name, &validator, &mut tally, &mut out, args.quiet)?;
            }
            Err(e) => {
                tally.unreadable += 1;
                writeln!(out, "{name}: cannot open: {e}")?;
            }
        }
    }
    writeln!(
        out,
        "{} objects in {} files: {} valid, {} invalid ({} problems){}",
        tally.objects,
        args.files.len(),
        tally.objects - tally.invalid,
        tally.invalid,
        tally.problems,
        if tally.unreadable > 0 {
            format!("; {} files could not be read to the end", tally.unreadable)
        } else {
            String::new()
        }
    )?;
    out.flush()?;
    Ok(if tally.unreadable > 0 {
        ExitCode::from(2)
    } else if tally.invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn validate_stream(
    reader: Reader<Box<dyn Read>>,
    name: &str,
    validator: &Validator,
    tally: &mut Tally,
    out: &mut impl Write,
    quiet: bool,
) -> Result<()> {
    let mut issues = Vec::new();
    for entry in reader {
        let entry: Entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                tally.unreadable += 1;
                writeln!(out, "{name}: {e}")?;
                break;
            }
        };
        // The bundle's own properties are checked, but it is not counted as an object.
        let is_bundle = entry.location == Location::Bundle;
        if !is_bundle {
            tally.objects += 1;
        }
        issues.clear();
        match &entry.value {
            Ok(value) => validator.validate_into(value, &mut issues),
            Err(syntax) => {
                tally.invalid += 1;
                tally.problems += 1;
                if !quiet {
                    let at = entry.location.qualify("");
                    let sep = if at.is_empty() { "" } else { ": " };
                    writeln!(out, "{name}:{at}{sep}not valid JSON: {syntax}")?;
                }
                continue;
            }
        }
        if !issues.is_empty() {
            tally.invalid += u64::from(!is_bundle);
            tally.problems += issues.len() as u64;
            if !quiet {
                for issue in &issues {
                    let path = entry.location.qualify(&issue.path);
                    let sep = if path.is_empty() { "" } else { ": " };
                    writeln!(out, "{name}:{path}{sep}{}", issue.message)?;
                }
            }
        }
    }
    Ok(())
}

fn ids(json: bool) -> Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = false;
    for entry in Reader::new(io::stdin().lock()) {
        let entry = entry.context("cannot read the objects on standard input")?;
        let where_ = entry.location.qualify("");
        let mut value = match entry.value {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                eprintln!("{where_}: expected an object");
                failed = true;
                continue;
            }
            Err(e) => {
                eprintln!("{where_}: not valid JSON: {e}");
                failed = true;
                continue;
            }
        };
        if entry.location == Location::Bundle {
            continue;
        }
        let Some(sco_type) = value
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            eprintln!("{where_}: the object has no type");
            failed = true;
            continue;
        };
        let identifier = match id::deterministic_sco_id(&value) {
            Some(det) => det,
            None if id::id_contributing_properties(&sco_type).is_some() => {
                // The specification asks for a random UUIDv4 when nothing contributes.
                id::random_id(&sco_type)
            }
            None => {
                eprintln!("{where_}: `{sco_type}` is not a cyber-observable type of STIX 2.1");
                failed = true;
                continue;
            }
        };
        if json {
            value.insert("id".into(), Value::String(identifier));
            serde_json::to_writer(&mut out, &value)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{identifier}")?;
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
