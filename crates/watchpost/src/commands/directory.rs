//! `org import` and `org route`: the constituency directory in the knowledge base.

use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use watchpost_store::SqlStore;
use watchpost_warn::directory::{from_csv, from_json};
use watchpost_warn::{DirectoryEntry, Router};

/// Reads a directory file (JSON when it starts with `[`, CSV otherwise) and stores each entry,
/// adding the organisations it names; every bad entry is printed with its place.
pub async fn import(path: &Path, store: &SqlStore) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (entries, errors) = if text.trim_start().starts_with('[') {
        from_json(&text)
    } else {
        from_csv(&text)
    };
    for e in &errors {
        eprintln!("{}: {e}", path.display());
    }
    watchpost_warn::directory::save(store, &entries).await?;
    for conflict in Router::new(&entries).conflicts() {
        eprintln!("{}: {conflict}", path.display());
    }
    let prefixes: usize = entries.iter().map(|e| e.constituency.prefixes.len()).sum();
    println!(
        "{} organisations, {prefixes} prefixes imported; {} entries refused",
        entries.len(),
        errors.len()
    );
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The directory as stored.
pub async fn load(store: &SqlStore) -> Result<Vec<DirectoryEntry>> {
    Ok(watchpost_warn::load_directory(store).await?)
}

pub async fn route(target: &str, store: &SqlStore) -> Result<ExitCode> {
    let entries = load(store).await?;
    let router = Router::new(&entries);
    let (found, how) = match target.parse::<std::net::IpAddr>() {
        Ok(ip) => (router.route_ip(ip), "prefix"),
        Err(_) => (router.route_domain(target), "domain"),
    };
    let (index, how) = match (found, router.national()) {
        (Some(i), _) => (i, how),
        (None, Some(n)) => (n, "national fallback"),
        (None, None) => {
            println!(
                "{target}: no organisation answers for it, and the directory has no national CERT"
            );
            return Ok(ExitCode::from(1));
        }
    };
    let entry = &entries[index];
    println!("{target}: {} ({how})", entry.org);
    let mut chain: Vec<_> = entry.focal_points.iter().collect();
    chain.sort_by_key(|f| f.order);
    for f in chain {
        let contact = f.email.as_deref().or(f.webhook.as_deref()).unwrap_or("");
        println!(
            "  {}. {} <{contact}> {:?}{}",
            f.order,
            f.name,
            f.language,
            if f.always_on { " 24/7" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
