//! The indexed `PatternSet` against the naive loop (every pattern evaluated on every
//! observation): on generated patterns and observations they must report the same matches.

// A panic in a test is a failing test, not a crashed hub.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{json, Value};
use watchpost_pattern::eval::{Observation, Sco};
use watchpost_pattern::set::WindowLimits;
use watchpost_pattern::{Hit, Matcher, Pattern, PatternSet, Version};

const IPS: [&str; 6] = [
    "10.0.0.1",
    "10.0.1.7",
    "192.0.2.5",
    "198.51.100.9",
    "2001:db8::1",
    "203.0.113.77",
];
const DOMAINS: [&str; 4] = [
    "evil.example",
    "good.example",
    "update.evil.example",
    "cdn.example",
];
const URLS: [&str; 4] = [
    "http://evil.example/gate.php",
    "https://good.example/index.html",
    "http://198.51.100.9/drop/x.exe",
    "https://cdn.example/Gate.PHP?id=1",
];

fn comparison() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..IPS.len()).prop_map(|i| format!("ipv4-addr:value = '{}'", IPS[i])),
        (0..IPS.len()).prop_map(|i| format!("ipv4-addr:value != '{}'", IPS[i])),
        prop::sample::select(vec![
            "10.0.0.0/8",
            "10.0.0.0/24",
            "192.0.2.0/24",
            "0.0.0.0/1",
            "2001:db8::/32"
        ])
        .prop_map(|n| format!("ipv4-addr:value ISSUBSET '{n}'")),
        (0..DOMAINS.len()).prop_map(|i| format!("domain-name:value = '{}'", DOMAINS[i])),
        prop::sample::select(vec!["%evil%", "%.example", "update.%", "cdn_example"])
            .prop_map(|l| format!("domain-name:value LIKE '{l}'")),
        prop::sample::select(vec![
            "gate\\\\.php$",
            "^https?://",
            "(?i)gate",
            "drop/[a-z]+\\\\.exe",
            "evil|good"
        ])
        .prop_map(|r| format!("url:value MATCHES '{r}'")),
        (0..URLS.len()).prop_map(|i| format!("url:value = '{}'", URLS[i])),
        (0..4u16).prop_map(|p| format!(
            "network-traffic:dst_port = {}",
            [80, 443, 8080, 53][p as usize]
        )),
        (0..4u16).prop_map(|p| format!(
            "network-traffic:dst_port IN (80, {})",
            [443, 8080, 53, 22][p as usize]
        )),
        (0..IPS.len()).prop_map(|i| format!("network-traffic:dst_ref.value = '{}'", IPS[i])),
        Just("network-traffic:dst_port > 1024".to_string()),
        Just("EXISTS network-traffic:src_ref".to_string()),
    ]
}

fn comparison_expr() -> impl Strategy<Value = String> {
    prop_oneof![
        comparison(),
        (comparison(), comparison()).prop_map(|(a, b)| format!("{a} AND {b}")),
        (comparison(), comparison()).prop_map(|(a, b)| format!("{a} OR {b}")),
        (comparison(), comparison(), comparison())
            .prop_map(|(a, b, c)| format!("({a} OR {b}) AND {c}")),
    ]
}

fn observation(seed: (usize, usize, usize, u16, bool)) -> Value {
    let (ip, dom, url, port, with_traffic) = seed;
    let mut objects = vec![
        json!({"type": "ipv4-addr", "id": "ipv4-addr--1", "value": IPS[ip % IPS.len()]}),
        json!({"type": "domain-name", "id": "domain-name--1", "value": DOMAINS[dom % DOMAINS.len()]}),
        json!({"type": "url", "id": "url--1", "value": URLS[url % URLS.len()]}),
    ];
    if with_traffic {
        let dst_port = [80, 443, 8080, 53, 22, 3389][port as usize % 6];
        objects.push(
            json!({"type": "network-traffic", "id": "network-traffic--1",
            "dst_ref": "ipv4-addr--1", "dst_port": dst_port, "protocols": ["tcp"]}),
        );
    }
    json!(objects)
}

fn as_observation(objects: &Value) -> Observation<'_> {
    Observation {
        id: None,
        first: 0,
        last: 0,
        count: 1,
        objects: objects
            .as_array()
            .unwrap()
            .iter()
            .map(|o| Sco::new(o["id"].as_str().unwrap(), o))
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn indexed_matches_equal_naive_matches(
        exprs in prop::collection::vec(comparison_expr(), 1..40),
        seeds in prop::collection::vec((0..6usize, 0..4usize, 0..4usize, 0..6u16, any::<bool>()), 1..20),
    ) {
        let patterns: Vec<String> = exprs.iter().map(|e| format!("[{e}]")).collect();
        let (set, rejected) = PatternSet::compile(patterns.iter().map(|p| (p.as_str(), Version::V21)));
        prop_assert!(rejected.is_empty(), "{:?}", rejected);
        let compiled: Vec<Pattern> = patterns.iter().map(|p| Pattern::parse(p).unwrap()).collect();
        // The batched path gives the same hits as one observation at a time.
        let all: Vec<Value> = seeds.iter().map(|s| observation(*s)).collect();
        let all_obs: Vec<Observation<'_>> = all.iter().map(as_observation).collect();
        let mut batched = Vec::new();
        let mut batch_matcher = Matcher::new(&set);
        for (i, chunk) in all_obs.chunks(7).enumerate() {
            batch_matcher.observe_batch((i * 7) as u64, chunk, &mut batched);
        }
        let mut one_by_one = Vec::new();
        let mut single_matcher = Matcher::new(&set);
        for (seq, o) in all_obs.iter().enumerate() {
            single_matcher.observe(seq as u64, o, &mut one_by_one);
        }
        prop_assert_eq!(&batched, &one_by_one);
        // So does the fast path, fed the probe values a decoder would extract.
        let probed: Vec<Vec<(u32, &Value)>> = all_obs.iter().map(|o| set.probe_values(o)).collect();
        let mut fast = Vec::new();
        let mut fast_matcher = Matcher::new(&set);
        for (i, chunk) in all_obs.chunks(5).enumerate() {
            fast_matcher.observe_probed((i * 5) as u64, chunk, &probed[i * 5..i * 5 + chunk.len()], &mut fast);
        }
        prop_assert_eq!(&fast, &one_by_one);
        let mut matcher = Matcher::new(&set);
        for (seq, seed) in seeds.into_iter().enumerate() {
            let objects = observation(seed);
            let obs = as_observation(&objects);
            let mut hits = Vec::new();
            matcher.observe(seq as u64, &obs, &mut hits);
            let mut got: Vec<u32> = hits.iter().map(|h| h.pattern).collect();
            got.sort_unstable();
            let naive: Vec<u32> = compiled
                .iter()
                .enumerate()
                .filter(|(_, p)| p.evaluate_observations(std::slice::from_ref(&obs)).unwrap().is_some())
                .map(|(i, _)| i as u32)
                .collect();
            prop_assert_eq!(got, naive, "observation {}", objects);
        }
    }
}

fn obs_at(value: &'static str, second: i64) -> (Value, i64) {
    (
        json!([{"type": "domain-name", "id": "domain-name--1", "value": value}]),
        second,
    )
}

fn run(pattern: &str, stream: &[(Value, i64)], limits: WindowLimits) -> (Vec<Hit>, u64) {
    let (set, rejected) = PatternSet::compile([(pattern, Version::V21)]);
    assert!(rejected.is_empty());
    let mut matcher = Matcher::with_limits(&set, limits);
    let mut hits = Vec::new();
    for (seq, (objects, second)) in stream.iter().enumerate() {
        let mut obs = as_observation(objects);
        obs.first = second * 1_000_000;
        obs.last = obs.first;
        matcher.observe(seq as u64, &obs, &mut hits);
    }
    (hits, matcher.dropped())
}

#[test]
fn followed_by_across_observations() {
    let stream = [
        obs_at("b.example", 0),
        obs_at("a.example", 10),
        obs_at("x.example", 20),
        obs_at("b.example", 30),
    ];
    let (hits, _) = run(
        "[domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']",
        &stream,
        WindowLimits::default(),
    );
    assert_eq!(
        hits,
        [Hit {
            pattern: 0,
            observations: vec![1, 3]
        }]
    );
}

#[test]
fn within_expires_old_observations() {
    let stream = [
        obs_at("a.example", 0),
        obs_at("b.example", 100),
        obs_at("a.example", 200),
        obs_at("b.example", 205),
    ];
    let (hits, _) = run(
        "([domain-name:value = 'a.example'] AND [domain-name:value = 'b.example']) WITHIN 10 SECONDS",
        &stream,
        WindowLimits::default(),
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].observations, [2, 3]);
}

#[test]
fn windows_are_bounded_and_drops_counted() {
    let mut stream: Vec<(Value, i64)> = (0..100).map(|i| obs_at("a.example", i)).collect();
    stream.push(obs_at("b.example", 200));
    let limits = WindowLimits {
        per_pattern: 8,
        total: 1000,
        horizon_micros: i64::MAX / 2,
    };
    let (hits, dropped) = run(
        "[domain-name:value = 'a.example'] REPEATS 3 TIMES FOLLOWEDBY [domain-name:value = 'b.example']",
        &stream,
        limits,
    );
    // 101 observations through a window of 8.
    assert_eq!(dropped, 93);
    assert!(hits.iter().any(|h| h.observations.contains(&100)));
}
