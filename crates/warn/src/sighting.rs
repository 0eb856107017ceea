//! Matches become STIX sightings: one per (indicator, affected organisation, time window),
//! counted, with the first and last time seen.
//!
//! A sighting's id is derived from what it aggregates (UUIDv5 of indicator, organisation and
//! window start), so every flush of the same window is a new version of the same object, with
//! `modified` strictly increasing; a hub restarted mid-window, or several matching workers,
//! produce versions of one sighting, not duplicates.

use serde_json::{json, Value};
use std::collections::HashMap;
use watchpost_stix::Timestamp;

/// The namespace of sighting ids.
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x7761_7463_6870_6f73_745f_7369_6768_7473);

/// One indicator matched in one organisation's network.
#[derive(Clone, Copy, Debug)]
pub struct Match<'a> {
    /// The indicator's STIX id.
    pub indicator: &'a str,
    /// The identity id of the organisation whose network it is.
    pub org: &'a str,
    /// When the observation happened, microseconds since the epoch.
    pub time: i64,
}

#[derive(Debug)]
struct Window {
    first: i64,
    last: i64,
    count: u64,
    created: i64,
    modified: Option<i64>,
    changed: bool,
}

/// Aggregates matches into sightings.
#[derive(Debug)]
pub struct Aggregator {
    window: i64,
    open: HashMap<(String, String, i64), Window>,
}

impl Aggregator {
    /// Windows of `seconds` seconds (aligned to the epoch).
    pub fn new(seconds: u32) -> Self {
        Aggregator {
            window: i64::from(seconds.max(1)) * 1_000_000,
            open: HashMap::new(),
        }
    }

    /// Counts one match; `now` is when it is recorded.
    pub fn record(&mut self, m: Match<'_>, now: i64) {
        let start = m.time - m.time.rem_euclid(self.window);
        let w = self
            .open
            .entry((m.indicator.to_string(), m.org.to_string(), start))
            .or_insert(Window {
                first: m.time,
                last: m.time,
                count: 0,
                created: now,
                modified: None,
                changed: false,
            });
        w.first = w.first.min(m.time);
        w.last = w.last.max(m.time);
        w.count = w.count.saturating_add(1).min(999_999_999);
        w.changed = true;
    }

    /// The sightings that changed since the last call, as STIX objects; `markings` gives the
    /// marking refs of an indicator, which its sightings carry (who may see an indicator may see
    /// where it was seen, no one else).
    pub fn flush(&mut self, now: i64, markings: impl Fn(&str) -> Vec<String>) -> Vec<Value> {
        let mut out: Vec<(String, Value)> = Vec::new();
        for ((indicator, org, start), w) in self.open.iter_mut().filter(|(_, w)| w.changed) {
            // Milliseconds, strictly after the previous version.
            let now_ms = now - now.rem_euclid(1000);
            let modified = w
                .modified
                .map_or(now_ms.max(w.created - w.created.rem_euclid(1000)), |m| {
                    now_ms.max(m + 1000)
                });
            w.modified = Some(modified);
            w.changed = false;
            let id =
                uuid::Uuid::new_v5(&NAMESPACE, format!("{indicator}|{org}|{start}").as_bytes());
            let id = format!("sighting--{id}");
            let created = w.created - w.created.rem_euclid(1000);
            let mut s = json!({
                "type": "sighting", "spec_version": "2.1", "id": id,
                "created": stamp(created), "modified": stamp(modified),
                "sighting_of_ref": indicator, "where_sighted_refs": [org],
                "count": w.count, "first_seen": stamp(w.first), "last_seen": stamp(w.last),
            });
            let refs = markings(indicator);
            if !refs.is_empty() {
                s["object_marking_refs"] = json!(refs);
            }
            out.push((id, s));
        }
        // Sorted by id, so a flush is the same whatever the map's order; by the key already
        // made, not by looking it up in each object at every comparison.
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// Forgets windows that ended before `now` minus `keep` seconds and were flushed.
    pub fn expire(&mut self, now: i64, keep: u32) {
        let horizon = now - i64::from(keep) * 1_000_000 - self.window;
        self.open
            .retain(|(_, _, start), w| w.changed || *start >= horizon);
    }
}

fn stamp(micros: i64) -> String {
    Timestamp::from_unix_micros_compact(micros).to_string()
}
