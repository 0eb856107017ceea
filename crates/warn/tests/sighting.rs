//! Matches aggregated into sightings.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use watchpost_stix::Validator;
use watchpost_warn::sighting::{Aggregator, Match};

const IND: &str = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
const ORG: &str = "identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";
const OTHER: &str = "identity--1c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const T0: i64 = 1_700_000_000_000_000; // 2023-11-14T22:13:20Z, on an hour boundary + 20 s

#[test]
fn matches_aggregate_per_indicator_organisation_and_window() {
    let mut agg = Aggregator::new(3600);
    let now = T0 + 5_000_123;
    for dt in [30, 10, 50] {
        agg.record(
            Match {
                indicator: IND,
                org: ORG,
                time: T0 + dt * 1_000_000,
            },
            now,
        );
    }
    agg.record(
        Match {
            indicator: IND,
            org: OTHER,
            time: T0,
        },
        now,
    );
    agg.record(
        Match {
            indicator: IND,
            org: ORG,
            time: T0 + 7200 * 1_000_000,
        },
        now,
    );
    let markings = |_: &str| vec![AMBER.to_string()];
    let sightings = agg.flush(now, markings);
    assert_eq!(sightings.len(), 3, "two organisations, and a second window");
    let v = Validator::new();
    for s in &sightings {
        assert!(v.validate(s).is_empty(), "{s}: {:?}", v.validate(s));
        assert_eq!(s["object_marking_refs"][0], AMBER);
    }
    let three = sightings.iter().find(|s| s["count"] == 3).unwrap();
    assert_eq!(three["where_sighted_refs"][0], ORG);
    assert_eq!(three["first_seen"], "2023-11-14T22:13:30.000Z");
    assert_eq!(three["last_seen"], "2023-11-14T22:14:10.000Z");
    assert_eq!(three["created"], "2023-11-14T22:13:25.000Z");
    // Nothing new: nothing to flush. One more match: a new version of the same sighting.
    assert!(agg.flush(now + 1, |_| vec![]).is_empty());
    agg.record(
        Match {
            indicator: IND,
            org: ORG,
            time: T0 + 60 * 1_000_000,
        },
        now,
    );
    let again = agg.flush(now, |_| vec![]);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["id"], three["id"]);
    assert_eq!(again[0]["count"], 4);
    assert!(
        again[0]["modified"].as_str().unwrap() > three["modified"].as_str().unwrap(),
        "modified moves even within the same millisecond"
    );
    assert!(v.validate(&again[0]).is_empty());
    // The id depends only on what is aggregated: another aggregator (a restarted hub) agrees.
    let mut other = Aggregator::new(3600);
    other.record(
        Match {
            indicator: IND,
            org: ORG,
            time: T0 + 1_000_000,
        },
        now,
    );
    assert_eq!(other.flush(now, |_| vec![])[0]["id"], three["id"]);
}

#[test]
fn flushed_windows_expire() {
    let mut agg = Aggregator::new(60);
    agg.record(
        Match {
            indicator: IND,
            org: ORG,
            time: T0,
        },
        T0,
    );
    agg.expire(T0 + 3600 * 1_000_000, 60);
    assert_eq!(
        agg.flush(T0, |_| vec![]).len(),
        1,
        "unflushed windows are kept"
    );
    agg.expire(T0 + 3600 * 1_000_000, 60);
    agg.record(
        Match {
            indicator: IND,
            org: ORG,
            time: T0,
        },
        T0 + 3600 * 1_000_000,
    );
    let s = agg.flush(T0 + 3600 * 1_000_000, |_| vec![]);
    assert_eq!(s[0]["count"], 1, "an expired window starts again");
}
