//! `warnings`: list, show and acknowledge the warnings in the knowledge base.

use super::admin::{runtime, DbArg};
use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use serde_json::Value;
use std::process::ExitCode;
use watchpost_stix::Timestamp;
use watchpost_store::{timestamp_text, Micros, Store, Warning, WarningFilter, WarningStatus};
use watchpost_warn::Severity;

#[derive(Subcommand)]
pub enum WarningsCommand {
    /// List warnings, newest first.
    List {
        /// Only this organisation's.
        #[arg(long)]
        org: Option<String>,
        /// Only open, acknowledged or closed ones.
        #[arg(long, value_parser = parse_status)]
        status: Option<WarningStatus>,
        /// Only this severity (low, medium, high, critical).
        #[arg(long, value_parser = parse_severity)]
        severity: Option<Severity>,
        /// Only those seen since TIME: a timestamp (2024-05-01T00:00:00Z) or a duration ago
        /// (90m, 12h, 7d).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArg,
    },
    /// Show one warning and its deliveries.
    Show {
        /// The warning id.
        id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArg,
    },
    /// Acknowledge a warning: stops its escalation and cancels what is still to be sent.
    Ack {
        /// The warning id.
        id: String,
        /// Who takes it in hand.
        #[arg(long)]
        by: String,
        #[command(flatten)]
        db: DbArg,
    },
}

fn parse_status(s: &str) -> Result<WarningStatus, String> {
    WarningStatus::parse(s)
        .ok_or_else(|| format!("{s:?} is not a status: use open, acknowledged or closed"))
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("{s:?} is not a severity: use low, medium, high or critical"))
}

/// Reads `--since`: a STIX/RFC 3339 timestamp, or a number of minutes, hours or days ago.
fn parse_since(text: &str, now: Micros) -> Result<Micros> {
    if let Ok(t) = Timestamp::parse(text) {
        return Ok(t.unix_micros());
    }
    let split = text.len().saturating_sub(1);
    let (number, unit) = (
        text.get(..split).unwrap_or(""),
        text.get(split..).unwrap_or(""),
    );
    let seconds: i64 = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if seconds > 0 && n >= 0 => Ok(now - n.saturating_mul(seconds * 1_000_000)),
        _ => bail!(
            "--since {text:?} is neither a timestamp (2024-05-01T00:00:00Z) nor a duration \
             such as 90m, 12h or 7d"
        ),
    }
}

pub fn run(cmd: WarningsCommand) -> Result<ExitCode> {
    runtime()?.block_on(async {
        match cmd {
            WarningsCommand::List {
                org,
                status,
                severity,
                since,
                limit,
                json,
                db,
            } => {
                let now = Timestamp::now().unix_micros();
                let since = since.map(|s| parse_since(&s, now)).transpose()?;
                let store = db.open().await?;
                let filter = WarningFilter {
                    org,
                    status,
                    severity: severity.map(|s| s.as_str().to_string()),
                    since,
                    limit,
                    worst_first: false,
                };
                list(&store.warnings(&filter).await?, json)
            }
            WarningsCommand::Show { id, json, db } => {
                let store = db.open().await?;
                let (w, deliveries) = store
                    .warning(&id)
                    .await?
                    .ok_or_else(|| anyhow!("warning {id} was not found"))?;
                if json {
                    let mut value = as_json(&w);
                    value["deliveries"] = serde_json::to_value(&deliveries)?;
                    println!("{}", serde_json::to_string_pretty(&value)?);
                    return Ok(ExitCode::SUCCESS);
                }
                show(&w);
                println!("\nlevel\tchannel\tstatus\tattempts\tfocal point\ttarget\tlast error");
                for d in deliveries {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        d.level,
                        d.channel.as_str(),
                        d.status.as_str(),
                        d.attempts,
                        d.focal_point,
                        d.target,
                        d.last_error.as_deref().unwrap_or("")
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            WarningsCommand::Ack { id, by, db } => {
                let store = db.open().await?;
                let w = store
                    .acknowledge_warning(&id, &by, Timestamp::now().unix_micros())
                    .await?;
                match w.ack_by.as_deref() {
                    Some(first) if first != by => println!(
                        "warning {id} was already acknowledged by {first} at {}",
                        w.ack_at.map(timestamp_text).unwrap_or_default()
                    ),
                    _ => println!("warning {id} acknowledged by {by}"),
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// A warning as JSON, with its detail as an object rather than a string.
fn as_json(w: &Warning) -> Value {
    let mut value = serde_json::to_value(w).unwrap_or(Value::Null);
    value["detail"] = serde_json::from_str(&w.detail).unwrap_or(Value::Null);
    value
}

fn list(warnings: &[Warning], json: bool) -> Result<ExitCode> {
    if json {
        let all: Vec<Value> = warnings.iter().map(as_json).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("id\tseverity\tstatus\torganisation\tcount\tlast_seen\tindicator");
    for w in warnings {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            w.id,
            w.severity,
            w.status.as_str(),
            w.org,
            w.count,
            timestamp_text(w.last_seen),
            w.indicator_id
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(w: &Warning) {
    let detail = watchpost_warn::warning::Detail::of(w);
    let time = |t: Option<Micros>| t.map(timestamp_text).unwrap_or_else(|| "-".into());
    println!("warning       {}", w.id);
    println!("severity      {}", w.severity);
    println!("status        {}", w.status.as_str());
    println!("organisation  {}", w.org);
    println!(
        "indicator     {} ({})",
        detail.indicator_name, w.indicator_id
    );
    println!("pattern       {}", detail.pattern);
    println!("observed      {}", detail.observation);
    println!("first seen    {}", timestamp_text(w.first_seen));
    println!("last seen     {}", timestamp_text(w.last_seen));
    println!("count         {}", w.count);
    println!("level         {}", w.level);
    println!("escalates at  {}", time(w.escalate_at));
    println!(
        "acknowledged  {}",
        w.ack_by
            .as_deref()
            .map(|by| format!("by {by} at {}", time(w.ack_at)))
            .unwrap_or_else(|| "-".into())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_timestamps_and_durations() {
        let now = 1_700_000_000_000_000;
        assert_eq!(parse_since("90m", now).unwrap(), now - 5_400_000_000);
        assert_eq!(parse_since("2d", now).unwrap(), now - 172_800_000_000);
        assert_eq!(
            parse_since("2023-11-14T22:13:20Z", now).unwrap(),
            1_700_000_000_000_000
        );
        assert!(parse_since("yesterday", now).is_err());
        assert!(parse_since("é", now).is_err());
    }
}
