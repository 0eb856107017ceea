//! MISP warning lists: values that look like IoCs but are known benign or special (private
//! ranges, public resolvers, top domains, cloud ranges, empty-file hashes…).
//!
//! A list is MISP's JSON (`name`, `type`, `list`, `matching_attributes`). Types: `cidr` (an
//! address or block inside one of the list's blocks), `string` (equal, ignoring case),
//! `hostname` (the host equal to an entry or below it: `mail.google.com` hits `google.com`),
//! `substring` (contains, ignoring case) and `regex`. A list applies to a value only when its
//! `matching_attributes` names one of the MISP types of the value's kind (`ip-dst` for an
//! address, `domain`/`hostname` for a domain, `url`, `md5`…).
//!
//! The lists the hub needs are embedded ([`WarningLists::embedded`]; `warninglists/SOURCES.md`
//! names their origin); [`WarningList::from_json`] reads any other MISP list.
//!
//! What a hit means is decided by the caller: the import marks the indicator with
//! [`FLAG_PROPERTY`] and the live pattern set leaves it out until an analyst confirms it.

use std::collections::HashSet;
use std::net::IpAddr;

use regex_automata::meta::Regex;
use serde_json::Value;

use crate::extract::IocKind;

/// The custom property an import adds to a flagged indicator: a list of `{"name", "list"}`.
pub const FLAG_PROPERTY: &str = "x_watchpost_warninglist";

/// The custom property an analyst's confirmation adds: `true` puts a flagged indicator back
/// into the live pattern set.
pub const CONFIRMED_PROPERTY: &str = "x_watchpost_confirmed";

const EMBEDDED: &[(&str, &str)] = &[
    ("rfc1918", include_str!("../warninglists/rfc1918.json")),
    ("rfc5735", include_str!("../warninglists/rfc5735.json")),
    ("rfc6598", include_str!("../warninglists/rfc6598.json")),
    ("rfc3849", include_str!("../warninglists/rfc3849.json")),
    ("rfc6761", include_str!("../warninglists/rfc6761.json")),
    ("multicast", include_str!("../warninglists/multicast.json")),
    (
        "ipv6-linklocal",
        include_str!("../warninglists/ipv6-linklocal.json"),
    ),
    (
        "public-dns-v4",
        include_str!("../warninglists/public-dns-v4.json"),
    ),
    (
        "public-dns-v6",
        include_str!("../warninglists/public-dns-v6.json"),
    ),
    (
        "cloudflare",
        include_str!("../warninglists/cloudflare.json"),
    ),
    ("sinkholes", include_str!("../warninglists/sinkholes.json")),
    ("tranco10k", include_str!("../warninglists/tranco10k.json")),
    (
        "url-shortener",
        include_str!("../warninglists/url-shortener.json"),
    ),
    (
        "security-provider-blogpost",
        include_str!("../warninglists/security-provider-blogpost.json"),
    ),
    (
        "empty-hashes",
        include_str!("../warninglists/empty-hashes.json"),
    ),
];

/// A list that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// Not JSON.
    #[error("the warning list is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A required member is missing or has the wrong type.
    #[error("the warning list has no `{0}` of the right type")]
    Missing(&'static str),
    /// An unknown `type`.
    #[error("warning list type `{0}` is not one of cidr, string, hostname, substring, regex")]
    UnknownType(String),
}

/// One hit: which list, and its MISP file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The list's `name` (human-readable, e.g. "List of RFC 1918 CIDR blocks").
    pub name: String,
    /// The list's short name (its directory in misp-warninglists, e.g. `rfc1918`).
    pub list: String,
}

#[derive(Debug)]
enum Entries {
    Cidr {
        exact: HashSet<IpAddr>,
        blocks: Vec<(IpAddr, u8)>,
    },
    Exact(HashSet<String>),
    Hostname(HashSet<String>),
    Substring(Vec<String>),
    Regex(Vec<Regex>),
}

/// One MISP warning list, compiled.
#[derive(Debug)]
pub struct WarningList {
    hit: Hit,
    attributes: Vec<String>,
    entries: Entries,
}

impl WarningList {
    /// Reads a MISP warning list; `list` is its short name.
    pub fn from_json(list: &str, json: &str) -> Result<WarningList, ListError> {
        let doc: Value = serde_json::from_str(json)?;
        let text = |key: &'static str| {
            doc.get(key)
                .and_then(Value::as_str)
                .ok_or(ListError::Missing(key))
        };
        let name = text("name")?.to_owned();
        let kind = text("type")?;
        let items: Vec<&str> = doc
            .get("list")
            .and_then(Value::as_array)
            .ok_or(ListError::Missing("list"))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let attributes = doc
            .get("matching_attributes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let lower = |s: &&str| s.trim().trim_start_matches('.').to_ascii_lowercase();
        let entries = match kind {
            "cidr" => cidr_entries(&items),
            "string" => Entries::Exact(items.iter().map(lower).collect()),
            "hostname" => Entries::Hostname(items.iter().map(lower).collect()),
            "substring" => Entries::Substring(items.iter().map(lower).collect()),
            // An entry that is not a regex Watchpost can compile is left out rather than
            // refusing the list: the rest of it still protects.
            "regex" => Entries::Regex(items.iter().filter_map(|r| Regex::new(r).ok()).collect()),
            other => return Err(ListError::UnknownType(other.to_owned())),
        };
        Ok(WarningList {
            hit: Hit {
                name,
                list: list.to_owned(),
            },
            attributes,
            entries,
        })
    }

    fn applies_to(&self, kind: IocKind) -> bool {
        self.attributes.is_empty()
            || misp_types(kind)
                .iter()
                .any(|t| self.attributes.iter().any(|a| a == t))
    }

    fn hits(&self, kind: IocKind, value: &str) -> bool {
        let value = value.to_ascii_lowercase();
        match &self.entries {
            Entries::Cidr { exact, blocks } => match network(&value) {
                Some((addr, prefix)) => {
                    (exact.contains(&addr) && is_host(addr, prefix))
                        || blocks
                            .iter()
                            .any(|&(net, len)| len <= prefix && contains(net, len, addr))
                }
                None => false,
            },
            Entries::Exact(set) => set.contains(&value),
            Entries::Hostname(set) => host(kind, &value).is_some_and(|h| {
                let mut rest = h;
                loop {
                    if set.contains(rest) {
                        return true;
                    }
                    match rest.split_once('.') {
                        Some((_, parent)) => rest = parent,
                        None => return false,
                    }
                }
            }),
            Entries::Substring(parts) => parts.iter().any(|p| value.contains(p.as_str())),
            Entries::Regex(res) => res.iter().any(|r| r.is_match(value.as_str())),
        }
    }
}

/// The lists an indicator value is checked against.
#[derive(Debug, Default)]
pub struct WarningLists {
    lists: Vec<WarningList>,
}

impl WarningLists {
    /// The lists embedded in Watchpost (see `warninglists/SOURCES.md`).
    pub fn embedded() -> WarningLists {
        WarningLists {
            lists: EMBEDDED
                .iter()
                // The embedded lists are read by a unit test; none can fail here.
                .filter_map(|(list, json)| WarningList::from_json(list, json).ok())
                .collect(),
        }
    }

    /// Adds a list.
    pub fn push(&mut self, list: WarningList) {
        self.lists.push(list);
    }

    /// Every list that `value` (of `kind`, normalised as [`crate::extract`] does) hits.
    ///
    /// ```
    /// use watchpost_exchange::extract::IocKind;
    /// use watchpost_exchange::warninglist::WarningLists;
    ///
    /// let lists = WarningLists::embedded();
    /// let hits = lists.check(IocKind::Ipv4, "192.168.1.10");
    /// assert_eq!(hits[0].list, "rfc1918");
    /// assert!(lists.check(IocKind::Domain, "evil-c2.vn").is_empty());
    /// ```
    pub fn check(&self, kind: IocKind, value: &str) -> Vec<Hit> {
        self.lists
            .iter()
            .filter(|l| l.applies_to(kind) && l.hits(kind, value))
            .map(|l| l.hit.clone())
            .collect()
    }

    /// Flags a STIX indicator whose pattern names a value on a list: sets [`FLAG_PROPERTY`]
    /// and returns the hits. Only patterns that are a disjunction of single values are read
    /// (what [`crate::export::values`] reads); one that needs two values at once cannot be
    /// matched by a single benign value, so it is left unflagged.
    pub fn flag_indicator(&self, indicator: &mut serde_json::Map<String, Value>) -> Vec<Hit> {
        let Some(pattern) = indicator.get("pattern").and_then(Value::as_str) else {
            return Vec::new();
        };
        let Ok(values) = crate::export::values(pattern) else {
            return Vec::new();
        };
        let mut hits: Vec<Hit> = Vec::new();
        for (kind, value) in values {
            for hit in self.check(ioc_kind(kind, &value), &value) {
                if !hits.contains(&hit) {
                    hits.push(hit);
                }
            }
        }
        if !hits.is_empty() {
            indicator.insert(FLAG_PROPERTY.into(), Self::flag_value(&hits));
        }
        hits
    }

    /// The hits as the value of [`FLAG_PROPERTY`].
    pub fn flag_value(hits: &[Hit]) -> Value {
        Value::Array(
            hits.iter()
                .map(|h| serde_json::json!({"name": h.name, "list": h.list}))
                .collect(),
        )
    }
}

/// Whether an indicator is kept out of the live pattern set: it carries a warning-list flag
/// and no analyst's confirmation.
pub fn held_back(indicator: &serde_json::Map<String, Value>) -> bool {
    let flagged = indicator
        .get(FLAG_PROPERTY)
        .and_then(Value::as_array)
        .is_some_and(|hits| !hits.is_empty());
    let confirmed = indicator.get(CONFIRMED_PROPERTY) == Some(&Value::Bool(true));
    flagged && !confirmed
}

fn ioc_kind(kind: crate::export::Kind, value: &str) -> IocKind {
    use crate::export::Kind;
    let v6 = value.contains(':');
    match kind {
        Kind::Ip if v6 => IocKind::Ipv6,
        Kind::Ip => IocKind::Ipv4,
        Kind::Network if v6 => IocKind::Ipv6Cidr,
        Kind::Network => IocKind::Ipv4Cidr,
        Kind::Domain => IocKind::Domain,
        Kind::Url => IocKind::Url,
        Kind::Md5 => IocKind::Md5,
        Kind::Sha1 => IocKind::Sha1,
        Kind::Sha256 => IocKind::Sha256,
        Kind::Email => IocKind::Email,
    }
}

fn misp_types(kind: IocKind) -> &'static [&'static str] {
    match kind {
        IocKind::Ipv4 | IocKind::Ipv6 | IocKind::Ipv4Cidr | IocKind::Ipv6Cidr => {
            &["ip-src", "ip-dst"]
        }
        IocKind::Domain => &["domain", "hostname"],
        IocKind::Url => &["url", "uri"],
        IocKind::Email => &["email-src", "email-dst", "email"],
        IocKind::Md5 => &["md5"],
        IocKind::Sha1 => &["sha1"],
        IocKind::Sha256 => &["sha256"],
        IocKind::Sha512 => &["sha512"],
        IocKind::Cve | IocKind::AttackTechnique => &[],
    }
}

/// The host a hostname list is compared with: the domain, a URL's host, an e-mail's domain.
fn host(kind: IocKind, value: &str) -> Option<&str> {
    match kind {
        IocKind::Domain => Some(value),
        IocKind::Url => value
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#', ':']).next().unwrap_or(rest)),
        IocKind::Email => value.rsplit_once('@').map(|(_, d)| d),
        _ => None,
    }
}

fn cidr_entries(items: &[&str]) -> Entries {
    let mut exact = HashSet::new();
    let mut blocks = Vec::new();
    for item in items {
        if let Some((addr, len)) = network(item.trim()) {
            if is_host(addr, len) {
                exact.insert(addr);
            } else {
                blocks.push((addr, len));
            }
        }
    }
    Entries::Cidr { exact, blocks }
}

fn is_host(addr: IpAddr, len: u8) -> bool {
    len == if addr.is_ipv4() { 32 } else { 128 }
}

/// An address or block: `(address, prefix length)`.
fn network(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((addr, len))
}

fn contains(net: IpAddr, len: u8, addr: IpAddr) -> bool {
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(kind: IocKind, value: &str) -> Vec<String> {
        WarningLists::embedded()
            .check(kind, value)
            .into_iter()
            .map(|h| h.list)
            .collect()
    }

    #[test]
    fn every_embedded_list_reads() {
        for (list, json) in EMBEDDED {
            WarningList::from_json(list, json).unwrap();
        }
    }

    fn hits(kind: IocKind, value: &str, list: &str) -> bool {
        lists(kind, value).iter().any(|l| l == list)
    }

    #[test]
    fn addresses_and_blocks() {
        assert!(hits(IocKind::Ipv4, "10.1.2.3", "rfc1918"));
        assert!(hits(IocKind::Ipv4Cidr, "172.16.5.0/24", "rfc1918"));
        // A block wider than the list's block is not inside it.
        assert!(!hits(IocKind::Ipv4Cidr, "172.0.0.0/8", "rfc1918"));
        assert!(hits(IocKind::Ipv4, "8.8.8.8", "public-dns-v4"));
        assert!(hits(IocKind::Ipv6, "fe80::1", "ipv6-linklocal"));
        assert_eq!(lists(IocKind::Ipv4, "46.183.220.81"), Vec::<String>::new());
    }

    #[test]
    fn hostnames_urls_and_hashes() {
        assert!(hits(IocKind::Domain, "mail.google.com", "tranco10k"));
        assert!(hits(IocKind::Url, "https://bit.ly/x", "url-shortener"));
        assert!(hits(
            IocKind::Md5,
            "d41d8cd98f00b204e9800998ecf8427e",
            "empty-hashes"
        ));
        assert_eq!(
            lists(IocKind::Domain, "adineohler.com"),
            Vec::<String>::new()
        );
        // Lists apply by their matching attributes: a domain list never judges an address.
        assert!(!hits(IocKind::Ipv4, "8.8.8.8", "tranco10k"));
    }

    #[test]
    fn confirmation_releases_a_flagged_indicator() {
        let mut ind = serde_json::Map::new();
        assert!(!held_back(&ind));
        ind.insert(
            FLAG_PROPERTY.into(),
            serde_json::json!([{"name": "n", "list": "rfc1918"}]),
        );
        assert!(held_back(&ind));
        ind.insert(CONFIRMED_PROPERTY.into(), Value::Bool(true));
        assert!(!held_back(&ind));
    }

    fn indicator(pattern: &str) -> serde_json::Map<String, Value> {
        let mut ind = serde_json::Map::new();
        ind.insert("type".into(), "indicator".into());
        ind.insert("pattern".into(), pattern.into());
        ind
    }

    #[test]
    fn indicators_are_flagged_by_the_values_of_their_patterns() {
        let lists = WarningLists::embedded();
        let mut resolver =
            indicator("[ipv4-addr:value = '46.183.220.81'] OR [ipv4-addr:value = '8.8.8.8']");
        let hits = lists.flag_indicator(&mut resolver);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].list, "public-dns-v4");
        assert!(held_back(&resolver));

        let mut block = indicator("[ipv4-addr:value ISSUBSET '192.168.0.0/16']");
        assert_eq!(lists.flag_indicator(&mut block)[0].list, "rfc1918");
        let mut v6 = indicator("[ipv6-addr:value = 'fe80::1']");
        assert_eq!(lists.flag_indicator(&mut v6)[0].list, "ipv6-linklocal");

        // Neither a value off every list nor a pattern of two values at once is flagged.
        let mut clean = indicator("[domain-name:value = 'adineohler.com']");
        assert!(lists.flag_indicator(&mut clean).is_empty());
        assert!(!held_back(&clean));
        let mut both = indicator(
            "[network-traffic:dst_ref.value = '8.8.8.8' AND network-traffic:dst_port = 53]",
        );
        assert!(lists.flag_indicator(&mut both).is_empty());
        assert!(!both.contains_key(FLAG_PROPERTY));
    }
}
