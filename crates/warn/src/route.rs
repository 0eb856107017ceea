//! Whose network is it: the organisation responsible for an address (longest matching
//! prefix) or a domain name (the longest listed suffix), falling back to the national CERT.
//!
//! Prefixes live in one hash map per prefix length, so an address costs one probe per length
//! in use (at most 33 for IPv4, 129 for IPv6) whatever the size of the directory; a name costs
//! one probe per label.

use crate::directory::{mask4, mask6, DirectoryEntry};
use std::collections::HashMap;
use std::net::IpAddr;

/// Routes addresses and names to directory entries (by their index in the list it was built
/// from).
#[derive(Debug, Default)]
pub struct Router {
    v4: Vec<(u8, HashMap<u32, usize>)>,
    v6: Vec<(u8, HashMap<u128, usize>)>,
    domains: HashMap<String, usize>,
    national: Option<usize>,
    conflicts: Vec<String>,
}

impl Router {
    /// Indexes `entries`. When two organisations list the same prefix or domain, the first
    /// keeps it and the clash is reported by [`Router::conflicts`].
    pub fn new(entries: &[DirectoryEntry]) -> Self {
        let mut r = Router::default();
        let mut v4: HashMap<u8, HashMap<u32, usize>> = HashMap::new();
        let mut v6: HashMap<u8, HashMap<u128, usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if e.national && r.national.is_none() {
                r.national = Some(i);
            }
            for p in &e.constituency.prefixes {
                let previous = match p.addr {
                    IpAddr::V4(a) => *v4
                        .entry(p.len)
                        .or_default()
                        .entry(u32::from(a))
                        .or_insert(i),
                    IpAddr::V6(a) => *v6
                        .entry(p.len)
                        .or_default()
                        .entry(u128::from(a))
                        .or_insert(i),
                };
                if previous != i {
                    r.conflicts.push(format!(
                        "{p} is listed by {} and {}; {} keeps it",
                        entries[previous].org, e.org, entries[previous].org
                    ));
                }
            }
            for d in &e.constituency.domains {
                let previous = *r.domains.entry(d.clone()).or_insert(i);
                if previous != i {
                    r.conflicts.push(format!(
                        "{d} is listed by {} and {}; {} keeps it",
                        entries[previous].org, e.org, entries[previous].org
                    ));
                }
            }
        }
        r.v4 = v4.into_iter().collect();
        r.v4.sort_by_key(|(len, _)| std::cmp::Reverse(*len));
        r.v6 = v6.into_iter().collect();
        r.v6.sort_by_key(|(len, _)| std::cmp::Reverse(*len));
        r
    }

    /// Prefixes and domains claimed twice.
    pub fn conflicts(&self) -> &[String] {
        &self.conflicts
    }

    /// The entry whose longest prefix holds `ip`.
    pub fn route_ip(&self, ip: IpAddr) -> Option<usize> {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4
                    .iter()
                    .find_map(|(len, map)| map.get(&mask4(a, *len)).copied())
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6
                    .iter()
                    .find_map(|(len, map)| map.get(&mask6(a, *len)).copied())
            }
        }
    }

    /// The entry that lists `name` or its nearest parent domain.
    pub fn route_domain(&self, name: &str) -> Option<usize> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let mut rest = name.as_str();
        loop {
            if let Some(i) = self.domains.get(rest) {
                return Some(*i);
            }
            rest = rest.split_once('.')?.1;
        }
    }

    /// The national CERT's entry, for what no one else answers for.
    pub fn national(&self) -> Option<usize> {
        self.national
    }

    /// Who answers for `ip`: its longest prefix, else the national CERT.
    pub fn responsible_for_ip(&self, ip: IpAddr) -> Option<usize> {
        self.route_ip(ip).or(self.national)
    }

    /// Who answers for an observation: the first of its addresses (`ipv4-addr`, `ipv6-addr`)
    /// and domain names (`domain-name`) that an organisation lists, else the national CERT.
    pub fn responsible_for_objects<'a>(
        &self,
        objects: impl IntoIterator<Item = &'a serde_json::Value>,
    ) -> Option<usize> {
        objects
            .into_iter()
            .find_map(|o| {
                let value = o.get("value")?.as_str()?;
                match o.get("type")?.as_str()? {
                    "ipv4-addr" | "ipv6-addr" => self.route_ip(value.parse().ok()?),
                    "domain-name" => self.route_domain(value),
                    _ => None,
                }
            })
            .or(self.national)
    }

    /// Who answers for `name`: its nearest listed domain, else the national CERT.
    pub fn responsible_for_domain(&self, name: &str) -> Option<usize> {
        self.route_domain(name).or(self.national)
    }
}
