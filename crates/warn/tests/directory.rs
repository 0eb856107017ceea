//! The directory formats and routing.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use proptest::prelude::*;
use std::net::IpAddr;
use watchpost_warn::directory::{from_csv, from_json};
use watchpost_warn::{Constituency, DirectoryEntry, Language, Prefix, Router};

fn entry(org: &str, prefixes: &[&str], domains: &[&str], national: bool) -> DirectoryEntry {
    DirectoryEntry {
        org: org.into(),
        national,
        focal_points: vec![],
        constituency: Constituency {
            prefixes: prefixes.iter().map(|p| p.parse().unwrap()).collect(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            ..Default::default()
        },
    }
}

#[test]
fn longest_prefix_then_national() {
    let entries = vec![
        entry("vncert", &["14.160.0.0/11", "2001:dc8::/32"], &["vn"], true),
        entry(
            "vn-power",
            &["14.160.32.0/19", "14.160.33.7"],
            &["evn.com.vn"],
            false,
        ),
        entry(
            "bank",
            &["14.160.32.128/25", "2001:dc8:1::/48"],
            &["bank.example.vn"],
            false,
        ),
    ];
    let r = Router::new(&entries);
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(r.route_ip(ip("14.160.1.1")), Some(0));
    assert_eq!(r.route_ip(ip("14.160.40.1")), Some(1));
    assert_eq!(r.route_ip(ip("14.160.33.7")), Some(1), "a host route");
    assert_eq!(r.route_ip(ip("14.160.32.200")), Some(2));
    assert_eq!(r.route_ip(ip("2001:dc8:1::5")), Some(2));
    assert_eq!(r.route_ip(ip("2001:dc8:2::5")), Some(0));
    assert_eq!(r.route_ip(ip("8.8.8.8")), None);
    assert_eq!(
        r.responsible_for_ip(ip("8.8.8.8")),
        Some(0),
        "national fallback"
    );
    assert_eq!(r.route_domain("WWW.EVN.com.vn."), Some(1));
    assert_eq!(r.route_domain("bank.example.vn"), Some(2));
    assert_eq!(r.route_domain("other.example.vn"), Some(0), "suffix vn");
    assert_eq!(
        r.route_domain("evil-evn.com.vn"),
        Some(0),
        "a suffix is a whole label"
    );
    assert_eq!(r.route_domain("example.com"), None);
    assert!(r.conflicts().is_empty());
    let objects = [
        serde_json::json!({"type": "ipv4-addr", "value": "8.8.8.8"}),
        serde_json::json!({"type": "network-traffic", "src_ref": "0"}),
        serde_json::json!({"type": "domain-name", "value": "scada.evn.com.vn"}),
    ];
    assert_eq!(
        r.responsible_for_objects(&objects),
        Some(1),
        "the first listed value wins over the fallback"
    );
    assert_eq!(
        r.responsible_for_objects(&objects[..2]),
        Some(0),
        "national fallback"
    );
    let clash = Router::new(&[
        entry("a", &["10.0.0.0/8"], &["x.example"], false),
        entry("b", &["10.0.0.0/8"], &["x.example"], false),
    ]);
    assert_eq!(clash.conflicts().len(), 2);
    assert_eq!(clash.route_ip(ip("10.1.1.1")), Some(0));
}

#[test]
fn prefixes_parse_and_normalise() {
    let p: Prefix = "14.160.33.7/11".parse().unwrap();
    assert_eq!(p.to_string(), "14.160.0.0/11");
    assert_eq!("2001:db8::1".parse::<Prefix>().unwrap().len, 128);
    for bad in [
        "14.160.0.0/33",
        "2001:db8::/129",
        "example.com",
        "1.2.3/8",
        "",
    ] {
        assert!(bad.parse::<Prefix>().is_err(), "{bad}");
    }
}

#[test]
fn json_keeps_good_entries_and_names_bad_ones() {
    let text = r#"[
      {"org": "vncert", "national": true, "constituency": {"prefixes": ["14.160.0.0/11"], "domains": ["VN."]},
       "focal_points": [{"name": "Duty", "email": "duty@vncert.example", "language": "vi", "always_on": true}]},
      {"org": "bad", "constituency": {"prefixes": ["300.1.1.1/8"]}},
      {"org": "worse", "focal_points": [{"name": "x", "language": "fr"}]},
      {"org": "typo", "constituencies": {}}
    ]"#;
    let (entries, errors) = from_json(text);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].constituency.domains, ["vn"]);
    assert_eq!(entries[0].focal_points[0].language, Language::Vi);
    assert_eq!(entries[0].focal_points[0].order, 1);
    let places: Vec<&str> = errors.iter().map(|e| e.place.as_str()).collect();
    assert_eq!(places, ["[1]", "[2]", "[3]"]);
    assert!(errors[0].message.contains("300.1.1.1/8"));
    assert!(errors[1].message.contains("fr"));
    assert!(errors[2].message.contains("constituencies"));
    let (_, errors) = from_json("[{\"org\": ");
    assert!(errors[0].place.starts_with("line 1, column"));
}

#[test]
fn csv_rows_merge_per_organisation() {
    let text = "org,country,sector,critical,national,prefixes,domains,asns,contact,email,phone,webhook,always_on,language,order\n\
        vncert,VN,government-national,false,true,14.160.0.0/11;2001:dc8::/32,gov.vn,AS45899,Duty officer,duty@vncert.example,+84 24 0000,https://hooks.example/vn,true,vi,1\n\
        vncert,,,,,,,,\"Head, incident response\",head@vncert.example,,,false,en,2\n\
        evn,VN,energy,yes,no,14.160.32.0/19,evn.com.vn,,SOC,soc@evn.example,,,true,vi,1\n\
        broken,VN,energy,maybe,no,,,,,,,,,,\n\
        broken2,VN,energy,no,no,14.0.0.0/99,,,,,,,,,\n";
    let (entries, errors) = from_csv(text);
    assert_eq!(entries.len(), 2);
    let vn = &entries[0];
    assert_eq!(vn.focal_points.len(), 2);
    assert_eq!(vn.focal_points[1].name, "Head, incident response");
    assert_eq!(vn.focal_points[1].order, 2);
    assert_eq!(vn.constituency.asns, [45899]);
    assert!(vn.national && entries[1].constituency.critical);
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].place, "line 5, column critical");
    assert_eq!(errors[1].place, "line 6, column prefixes");
    let (_, errors) = from_csv("org,colour\nx,red\n");
    assert!(errors[0].message.contains("colour"));
}

/// The naive answer: scan every prefix, keep the longest that contains the address.
fn naive(entries: &[DirectoryEntry], ip: IpAddr) -> Option<usize> {
    let mut best: Option<(u8, usize)> = None;
    for (i, e) in entries.iter().enumerate() {
        for p in &e.constituency.prefixes {
            if p.contains(ip) && best.is_none_or(|(len, _)| p.len > len) {
                best = Some((p.len, i));
            }
        }
    }
    best.map(|b| b.1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn router_agrees_with_a_scan(nets in proptest::collection::vec((any::<u32>(), 0u8..=32), 1..60), probes in proptest::collection::vec(any::<u32>(), 1..80)) {
        // One entry per prefix, deduplicated, so the first-listed rule does not come into it.
        let mut seen = std::collections::HashSet::new();
        let entries: Vec<DirectoryEntry> = nets
            .iter()
            .map(|(a, len)| format!("{}/{}", std::net::Ipv4Addr::from(*a), len))
            .filter(|p| seen.insert(p.parse::<Prefix>().unwrap()))
            .enumerate()
            .map(|(i, p)| entry(&format!("org{i}"), &[&p], &[], false))
            .collect();
        let r = Router::new(&entries);
        // Probe random addresses and each network's own address.
        let extra: Vec<u32> = entries.iter().map(|e| match e.constituency.prefixes[0].addr { IpAddr::V4(a) => u32::from(a), _ => 0 }).collect();
        for a in probes.iter().chain(&extra) {
            let ip = IpAddr::V4((*a).into());
            prop_assert_eq!(r.route_ip(ip), naive(&entries, ip));
        }
    }
}
