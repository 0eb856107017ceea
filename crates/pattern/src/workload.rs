//! Deterministic workloads for benchmarks: indicator patterns in the proportions of real feeds
//! and telemetry observations with a small hit rate. The same seed gives the same workload on
//! every machine, so figures from different runs compare (see docs/benchmarks.md).

use crate::eval::{Observation, Sco};
use serde_json::{json, Value};

/// SplitMix64: small, fast, and enough for workloads.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The values an indicator set is built from, kept so events can hit them.
#[derive(Clone, Debug, Default)]
pub struct Values {
    /// IPv4 addresses of equality indicators.
    pub ips: Vec<String>,
    /// Domains.
    pub domains: Vec<String>,
    /// SHA-256 digests.
    pub hashes: Vec<String>,
    /// Host names used in URL indicators.
    pub url_hosts: Vec<String>,
    /// /24 networks of CIDR indicators (as `a.b.c`).
    pub nets: Vec<String>,
}

/// A random public-looking IPv4 address.
pub fn ipv4(rng: &mut Rng) -> String {
    let v = rng.next_u64();
    format!(
        "{}.{}.{}.{}",
        1 + v % 223,
        (v >> 8) % 256,
        (v >> 16) % 256,
        1 + (v >> 24) % 254
    )
}

fn label(rng: &mut Rng) -> String {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "nu", "po", "ra", "si", "tu", "ve", "xa", "zo", "be", "ci", "do", "fu",
        "ge",
    ];
    let n = 2 + rng.below(3);
    (0..n).map(|_| SYL[rng.below(16) as usize]).collect()
}

/// A host name from a space of about 10^13, so that random events hit an indicator only when
/// the generator means them to (real feeds do not collide with ordinary traffic by chance).
/// A random domain name.
pub fn domain(rng: &mut Rng) -> String {
    const TLD: [&str; 6] = ["com", "net", "org", "vn", "info", "xyz"];
    let number = rng.below(1_000_000);
    format!("{}{number}.{}", label(rng), TLD[rng.below(6) as usize])
}

/// A random SHA-256 digest, in hex.
pub fn sha256(rng: &mut Rng) -> String {
    (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect()
}

/// `count` indicator patterns: 40 % IPv4 equality, 20 % domain, 15 % file hash, 10 % URL
/// LIKE/MATCHES, 5 % CIDR, 10 % compound (several comparisons, FOLLOWEDBY, WITHIN).
pub fn indicators(count: usize, seed: u64) -> (Vec<String>, Values) {
    let mut rng = Rng::new(seed);
    let mut values = Values::default();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let p = match rng.below(100) {
            0..=39 => {
                let v = ipv4(&mut rng);
                let p = format!("[ipv4-addr:value = '{v}']");
                values.ips.push(v);
                p
            }
            40..=59 => {
                let d = domain(&mut rng);
                let p = format!("[domain-name:value = '{d}']");
                values.domains.push(d);
                p
            }
            60..=74 => {
                let h = sha256(&mut rng);
                let p = format!("[file:hashes.'SHA-256' = '{h}']");
                values.hashes.push(h);
                p
            }
            75..=84 => {
                let host = domain(&mut rng);
                let p = if rng.below(2) == 0 {
                    format!("[url:value LIKE 'http%://{host}/%']")
                } else {
                    let escaped = host.replace('.', "\\\\.");
                    format!("[url:value MATCHES '^https?://{escaped}/(gate|panel)\\\\.php']")
                };
                values.url_hosts.push(host);
                p
            }
            85..=89 => {
                let v = rng.next_u64();
                let net = format!("{}.{}.{}", 1 + v % 223, (v >> 8) % 256, (v >> 16) % 256);
                let p = format!("[ipv4-addr:value ISSUBSET '{net}.0/24']");
                values.nets.push(net);
                p
            }
            _ => {
                let a = ipv4(&mut rng);
                let d = domain(&mut rng);
                let p = match rng.below(3) {
                    0 => format!("[network-traffic:dst_ref.value = '{a}' AND network-traffic:dst_port = {}]", 1024 + rng.below(60000)),
                    1 => format!("[domain-name:value = '{d}'] FOLLOWEDBY [ipv4-addr:value = '{a}']"),
                    _ => format!("([ipv4-addr:value = '{a}'] AND [domain-name:value = '{d}']) WITHIN 300 SECONDS"),
                };
                values.ips.push(a);
                values.domains.push(d);
                p
            }
        };
        out.push(p);
    }
    (out, values)
}

/// `count` observations shaped like decoded sensor events (a flow with its addresses, and
/// often a DNS name, an HTTP URL or a file hash); about `hit_per_mille` in a thousand carry a
/// value from `values`.
pub fn events(count: usize, seed: u64, values: &Values, hit_per_mille: u64) -> Vec<Value> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let base = 1_732_000_000i64;
    (0..count)
        .map(|n| {
            let hit = rng.below(1000) < hit_per_mille;
            let pick = |rng: &mut Rng, list: &[String]| -> Option<String> {
                (!list.is_empty()).then(|| list[rng.below(list.len() as u64) as usize].clone())
            };
            let mut src = ipv4(&mut rng);
            let mut dst = ipv4(&mut rng);
            let mut dns = domain(&mut rng);
            let mut url = format!("http://{}/index.html", domain(&mut rng));
            let mut hash = sha256(&mut rng);
            if hit {
                match rng.below(5) {
                    0 => dst = pick(&mut rng, &values.ips).unwrap_or(dst),
                    1 => dns = pick(&mut rng, &values.domains).unwrap_or(dns),
                    2 => hash = pick(&mut rng, &values.hashes).unwrap_or(hash),
                    3 => {
                        if let Some(h) = pick(&mut rng, &values.url_hosts) {
                            url = format!("http://{h}/gate.php");
                        }
                    }
                    _ => {
                        if let Some(net) = pick(&mut rng, &values.nets) {
                            src = format!("{net}.{}", 1 + rng.below(254));
                        }
                    }
                }
            }
            let mut objects = vec![
                json!({"type": "ipv4-addr", "id": "ipv4-addr--0", "value": src}),
                json!({"type": "ipv4-addr", "id": "ipv4-addr--1", "value": dst}),
                json!({"type": "network-traffic", "id": "network-traffic--0", "src_ref": "ipv4-addr--0",
                       "dst_ref": "ipv4-addr--1", "dst_port": 1 + rng.below(65535), "protocols": ["tcp"]}),
            ];
            match n % 4 {
                0 => objects.push(json!({"type": "domain-name", "id": "domain-name--0", "value": dns})),
                1 => objects.push(json!({"type": "url", "id": "url--0", "value": url})),
                2 => objects.push(json!({"type": "file", "id": "file--0", "hashes": {"SHA-256": hash}})),
                _ => {}
            }
            // A hit on a value the event's shape does not carry is added as an extra object.
            if hit && n % 4 != 0 && objects.iter().all(|o| o["value"] != json!(dns)) {
                objects.push(json!({"type": "domain-name", "id": "domain-name--1", "value": dns}));
            }
            let t = base + n as i64 / 100;
            json!({"time": t, "objects": objects})
        })
        .collect()
}

/// An event of [`events`] as the matcher's pre-decoded observation (what a telemetry decoder
/// would hand it): its objects by id, at the event's time.
pub fn observation(event: &Value) -> Observation<'_> {
    let t = event.get("time").and_then(Value::as_i64).unwrap_or(0) * 1_000_000;
    let objects = event
        .get("objects")
        .and_then(Value::as_array)
        .map(|objs| {
            objs.iter()
                .map(|o| Sco::new(o.get("id").and_then(Value::as_str).unwrap_or(""), o))
                .collect()
        })
        .unwrap_or_default();
    Observation {
        id: None,
        first: t,
        last: t,
        count: 1,
        objects,
    }
}

/// A random UUIDv4 from `rng` (deterministic workloads need deterministic ids).
pub fn uuid4(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        8 + (b >> 62),
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}
