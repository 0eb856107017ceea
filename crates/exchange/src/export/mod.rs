//! Indicators as sensors take them: Suricata datasets and a rules file that uses them
//! ([`suricata`]), Zeek Intelligence Framework files ([`zeek`]), plain lists per type and a
//! STIX bundle ([`lists`]).
//!
//! Sensors match single values, so only patterns that are a disjunction of single values can
//! be exported: `[ipv4-addr:value = '…']`, `[domain-name:value = 'a' OR domain-name:value =
//! 'b']`, `[file:hashes.'SHA-256' = '…'] OR [url:value = '…']`, `IN (…)`, and `ISSUBSET` on an
//! address. A pattern that needs two values at once (`AND`, `FOLLOWEDBY`, a qualifier) or
//! another operator is skipped, with the reason, rather than exported as a weaker rule that
//! would raise false alarms.

pub mod lists;
pub mod suricata;
pub mod zeek;

use serde_json::Value;
use watchpost_pattern::ast::{CompExpr, ObsExpr, Op, PropTest, Step};
use watchpost_pattern::literal::Literal;
use watchpost_pattern::Pattern;

/// The kinds of value sensors match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An IPv4 or IPv6 address.
    Ip,
    /// An IPv4 or IPv6 network (CIDR).
    Network,
    /// A domain name (and, to Zeek, its subdomains are not implied).
    Domain,
    /// A URL.
    Url,
    /// An MD5 digest (lower-case hex).
    Md5,
    /// A SHA-1 digest.
    Sha1,
    /// A SHA-256 digest.
    Sha256,
    /// An e-mail address.
    Email,
}

/// One value of one indicator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Atom {
    /// What it is.
    pub kind: Kind,
    /// The value, in the form sensors compare (lower-case digests and domains).
    pub value: String,
    /// The indicator's id.
    pub indicator: String,
    /// The indicator's name, when it has one.
    pub name: Option<String>,
}

/// The values of a set of indicators, and the indicators that could not be exported.
#[derive(Clone, Debug, Default)]
pub struct Atoms {
    /// Every exportable value, sorted and without duplicates of (kind, value).
    pub atoms: Vec<Atom>,
    /// (indicator id, why it was not exported).
    pub skipped: Vec<(String, String)>,
}

impl Atoms {
    /// The values of `indicators` (STIX indicator objects; other objects are ignored), skipping
    /// revoked and expired (`valid_until` ≤ `now_rfc3339`, compared as text) ones.
    pub fn of(indicators: &[Value], now_rfc3339: &str) -> Atoms {
        let mut out = Atoms::default();
        for i in indicators {
            if i.get("type").and_then(Value::as_str) != Some("indicator") {
                continue;
            }
            let id = i
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let text = |k: &str| i.get(k).and_then(Value::as_str);
            if i.get("revoked").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if text("valid_until").is_some_and(|t| t <= now_rfc3339) {
                continue;
            }
            if text("pattern_type") != Some("stix") {
                out.skipped
                    .push((id, "its pattern is not a STIX pattern".into()));
                continue;
            }
            let Some(pattern) = text("pattern") else {
                out.skipped.push((id, "it has no pattern".into()));
                continue;
            };
            match values(pattern) {
                Ok(found) => out
                    .atoms
                    .extend(found.into_iter().map(|(kind, value)| Atom {
                        kind,
                        value,
                        indicator: id.clone(),
                        name: text("name").map(str::to_string),
                    })),
                Err(reason) => out.skipped.push((id, reason)),
            }
        }
        out.atoms.sort();
        out.atoms
            .dedup_by(|a, b| a.kind == b.kind && a.value == b.value);
        out
    }

    /// The values of one kind.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Atom> {
        self.atoms.iter().filter(move |a| a.kind == kind)
    }
}

/// The single values a pattern is the disjunction of, or why it is not one.
pub fn values(pattern: &str) -> Result<Vec<(Kind, String)>, String> {
    let parsed = Pattern::parse(pattern).map_err(|e| format!("its pattern does not parse: {e}"))?;
    let mut out = Vec::new();
    observation_values(parsed.root(), &mut out)?;
    Ok(out)
}

fn observation_values(expr: &ObsExpr, out: &mut Vec<(Kind, String)>) -> Result<(), String> {
    match expr {
        ObsExpr::Simple(c) => comparison_values(c, out),
        ObsExpr::Group(inner) => observation_values(inner, out),
        ObsExpr::Or(items) => items.iter().try_for_each(|i| observation_values(i, out)),
        ObsExpr::And(_) | ObsExpr::FollowedBy(_) => {
            Err("it needs several observations together, which a sensor list cannot say".into())
        }
        ObsExpr::Qualified(..) => Err(
            "it has a qualifier (WITHIN, REPEATS, START/STOP), which a sensor list cannot say"
                .into(),
        ),
    }
}

fn comparison_values(expr: &CompExpr, out: &mut Vec<(Kind, String)>) -> Result<(), String> {
    match expr {
        CompExpr::Test(t) => test_values(t, out),
        CompExpr::Or(items) => items.iter().try_for_each(|i| comparison_values(i, out)),
        CompExpr::And(items) => {
            // `dst_ref.type = 'ipv4-addr' AND dst_ref.value = '…'` (as MISP writes addresses)
            // says one value: the type test only restates what the value is.
            let values: Vec<&CompExpr> = items.iter().filter(|i| !is_type_test(i)).collect();
            match values.as_slice() {
                [one] if values.len() < items.len() => comparison_values(one, out),
                _ => Err("it needs two properties of one object together (AND), which a sensor list cannot say".into()),
            }
        }
    }
}

/// `x_ref.type = '…'`: a test of a referenced object's type.
fn is_type_test(expr: &CompExpr) -> bool {
    let CompExpr::Test(t) = expr else {
        return false;
    };
    let type_key = matches!(t.path.steps.as_slice(), [Step::Key(r), Step::Key(k)] if r.ends_with("_ref") && k == "type");
    type_key && !t.negated && matches!(t.op, Op::Eq(Literal::Str(_)))
}

fn test_values(t: &PropTest, out: &mut Vec<(Kind, String)>) -> Result<(), String> {
    if t.negated {
        return Err("it is negated (NOT)".into());
    }
    let kind =
        kind_of(t).ok_or_else(|| format!("{} is not a property sensors match", t.path.dotted()))?;
    let literals: Vec<&Literal> = match &t.op {
        Op::Eq(l) => vec![l],
        Op::In(ls) => ls.iter().collect(),
        Op::IsSubset(net) if kind == Kind::Ip => {
            out.push((Kind::Network, net.clone()));
            return Ok(());
        }
        other => return Err(format!("its operator {} is not equality", other.symbol())),
    };
    for l in literals {
        let Literal::Str(s) = l else {
            return Err("it compares with something other than text".into());
        };
        out.push((kind, normalise(kind, s)));
    }
    Ok(())
}

/// The kind of value a property test compares, for the properties sensors match.
fn kind_of(t: &PropTest) -> Option<Kind> {
    let keys: Vec<&str> = t
        .path
        .steps
        .iter()
        .map(|s| match s {
            Step::Key(k) => Some(k.as_str()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let kind = match (t.path.object_type.as_str(), keys.as_slice()) {
        ("ipv4-addr" | "ipv6-addr", ["value"]) => Kind::Ip,
        ("network-traffic", ["src_ref" | "dst_ref", "value"]) => Kind::Ip,
        ("domain-name", ["value"]) => Kind::Domain,
        ("url", ["value"]) => Kind::Url,
        ("email-addr", ["value"]) => Kind::Email,
        ("email-message", ["from_ref" | "sender_ref", "value"]) => Kind::Email,
        ("file" | "x509-certificate" | "artifact", ["hashes", algorithm]) => {
            match algorithm.to_ascii_uppercase().replace('-', "").as_str() {
                "MD5" => Kind::Md5,
                "SHA1" => Kind::Sha1,
                "SHA256" => Kind::Sha256,
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(kind)
}

fn normalise(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Domain | Kind::Md5 | Kind::Sha1 | Kind::Sha256 | Kind::Email => {
            value.trim_end_matches('.').to_ascii_lowercase()
        }
        _ => value.to_string(),
    }
}

/// Characters a value may not carry into a line-oriented sensor file (each file is one value
/// per line, fields separated by tabs): such values are left out, not escaped.
pub(crate) fn fits_a_line(value: &str) -> bool {
    !value.is_empty() && !value.contains(['\n', '\r', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disjunctions_of_single_values_are_exported_and_the_rest_is_skipped_with_a_reason() {
        let ok = values("[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value IN ('A.example.', 'b.example')]").unwrap();
        assert_eq!(
            ok,
            vec![
                (Kind::Ip, "198.51.100.7".into()),
                (Kind::Domain, "a.example".into()),
                (Kind::Domain, "b.example".into())
            ]
        );
        assert_eq!(
            values("[file:hashes.'SHA-256' = 'AB'] OR [ipv4-addr:value ISSUBSET '203.0.113.0/24']")
                .unwrap(),
            vec![
                (Kind::Sha256, "ab".into()),
                (Kind::Network, "203.0.113.0/24".into())
            ]
        );
        assert_eq!(
            values("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.9']").unwrap(),
            vec![(Kind::Ip, "198.51.100.9".into())],
            "MISP's form of an address"
        );
        for (pattern, reason) in [
            (
                "[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '1.2.3.5']",
                "AND",
            ),
            (
                "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [domain-name:value = 'x.example']",
                "several observations",
            ),
            ("[ipv4-addr:value = '1.2.3.4'] REPEATS 2 TIMES", "qualifier"),
            ("[url:value LIKE 'http://%']", "LIKE"),
            ("[process:name = 'x.exe']", "process:name"),
            ("[ipv4-addr:value NOT = '1.2.3.4']", "negated"),
        ] {
            let e = values(pattern).unwrap_err();
            assert!(e.contains(reason), "{pattern}: {e}");
        }
    }

    #[test]
    fn revoked_expired_and_foreign_indicators_are_left_out() {
        let ind = |id: &str, extra: Value| {
            let mut v = serde_json::json!({"type": "indicator", "id": id, "pattern_type": "stix",
                "pattern": "[domain-name:value = 'c2.example']", "name": "C2"});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            v
        };
        let atoms = Atoms::of(
            &[
                ind("indicator--1", serde_json::json!({})),
                ind("indicator--2", serde_json::json!({"revoked": true})),
                ind(
                    "indicator--3",
                    serde_json::json!({"valid_until": "2020-01-01T00:00:00Z"}),
                ),
                ind("indicator--4", serde_json::json!({"pattern_type": "sigma"})),
                serde_json::json!({"type": "malware", "id": "malware--1"}),
            ],
            "2026-01-01T00:00:00Z",
        );
        assert_eq!(atoms.atoms.len(), 1);
        assert_eq!(atoms.atoms[0].indicator, "indicator--1");
        assert_eq!(atoms.skipped.len(), 1);
        assert!(atoms.skipped[0].1.contains("not a STIX pattern"));
    }
}
