//! [`PatternSet`]: many patterns compiled into one immutable, indexed set, and the
//! [`Matcher`] that runs observations through it.
//!
//! Compiling extracts, from every `[...]` of every pattern, the index keys of [`keys`]: the
//! values its equalities need (one hash map keyed by probe and value), the networks its
//! `ISSUBSET`s need (per prefix length, so a lookup costs one probe per distinct length), and
//! the literal text its `LIKE`/`MATCHES` need (one Aho-Corasick automaton). A *probe* is an
//! object type and path (`ipv4-addr:value`); an observation is read once per distinct probe,
//! whatever the number of patterns. Candidates are verified with the full evaluator, so the
//! index only has to be *complete* (never miss), not exact. Patterns without a usable key are
//! evaluated on every observation and counted as unindexed.
//!
//! Patterns whose observation expressions span several observations (`AND`, `OR`,
//! `FOLLOWEDBY` between `[...]`, `REPEATS`, `WITHIN`, `START`/`STOP`) keep, per pattern, the
//! recent observations that satisfied one of their `[...]`, bounded in number and expired by
//! observation time; see [`window`].

pub mod keys;
mod window;

pub use window::WindowLimits;

use crate::ast::{ObjectPath, ObsExpr, Version};
use crate::cidr::Net;
use crate::eval::{Evaluator, Observation};
use crate::{Pattern, PatternError};
use aho_corasick::AhoCorasick;
use keys::{Key, KeyValue};
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};
use window::Windows;

/// Identifies a pattern in a set: its position in the input.
pub type PatternId = u32;

/// A `[...]` of a pattern: the pattern and the index of the observation expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Target {
    pattern: PatternId,
    part: u32,
}

type ProbeId = u32;

/// Counts describing a compiled set (`watchpost pattern stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Patterns in the set.
    pub patterns: usize,
    /// Patterns matched on one observation at a time.
    pub single: usize,
    /// Patterns spanning several observations (kept in windows).
    pub multi: usize,
    /// `[...]` parts with no usable index key, evaluated on every observation.
    pub unindexed: usize,
    /// Equality keys.
    pub eq_keys: usize,
    /// CIDR keys.
    pub cidr_keys: usize,
    /// Substring keys.
    pub substring_keys: usize,
    /// Distinct object paths read from each observation.
    pub probes: usize,
    /// Comparisons by operator symbol.
    pub operators: std::collections::BTreeMap<String, usize>,
    /// Comparisons by object type.
    pub object_types: std::collections::BTreeMap<String, usize>,
    /// Approximate heap bytes of the compiled set.
    pub heap_bytes: usize,
}

/// A pattern that failed to compile, with its position in the input.
#[derive(Debug)]
pub struct Rejected {
    /// Position in the input.
    pub index: usize,
    /// Why.
    pub error: PatternError,
}

/// An immutable, indexed set of patterns. `Send + Sync`: many matchers may share one.
pub struct PatternSet {
    patterns: Vec<Pattern>,
    /// The `[...]` parts of each pattern, in evaluation order.
    parts: Vec<Vec<ObsExpr>>,
    /// Where each part's prepared operands start in its pattern's list.
    part_offsets: Vec<Vec<usize>>,
    multi: Vec<bool>,
    probes: Vec<ObjectPath>,
    probes_by_type: FxHashMap<String, Vec<ProbeId>>,
    eq: FxHashMap<u64, Vec<Target>>,
    /// (probe, prefix length, masked address) → targets; IPv6 addresses in the upper bits.
    cidr: FxHashMap<(ProbeId, u8, u128), Vec<Target>>,
    cidr_lengths: FxHashMap<ProbeId, Vec<(bool, u8)>>,
    substrings: Option<AhoCorasick>,
    substring_targets: Vec<(ProbeId, Target)>,
    substring_probes: Vec<bool>,
    unindexed: Vec<Target>,
    stats: Stats,
}

fn eq_hash(probe: ProbeId, value: &KeyValue) -> u64 {
    let mut h = FxHasher::default();
    probe.hash(&mut h);
    value.hash(&mut h);
    h.finish()
}

impl PatternSet {
    /// Compiles patterns; those that do not parse are returned beside the set, which holds
    /// the rest (ids stay the input positions).
    pub fn compile<'t>(
        patterns: impl IntoIterator<Item = (&'t str, Version)>,
    ) -> (PatternSet, Vec<Rejected>) {
        let mut builder = Builder::default();
        let mut rejected = Vec::new();
        for (index, (text, version)) in patterns.into_iter().enumerate() {
            match Pattern::parse_version(text, version) {
                Ok(p) => builder.add(index as PatternId, p),
                Err(error) => {
                    builder.placeholder();
                    rejected.push(Rejected { index, error });
                }
            }
        }
        (builder.finish(), rejected)
    }

    /// Counts describing the set.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The compiled pattern with this id.
    pub fn pattern(&self, id: PatternId) -> Option<&Pattern> {
        self.patterns
            .get(id as usize)
            .filter(|_| !self.parts[id as usize].is_empty())
    }

    /// Candidate `[...]` parts for an observation: everything its values hit in the
    /// indexes, plus the unindexed parts.
    fn candidates(&self, obs: &Observation<'_>, out: &mut Vec<Target>) {
        out.extend_from_slice(&self.unindexed);
        for (_, object) in &obs.objects {
            let Some(kind) = object.get("type").and_then(serde_json::Value::as_str) else {
                continue;
            };
            let Some(probes) = self.probes_by_type.get(kind) else {
                continue;
            };
            for &probe in probes {
                self.probe_candidates(obs, object, probe, out);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    fn probe_candidates(
        &self,
        obs: &Observation<'_>,
        object: &serde_json::Value,
        probe: ProbeId,
        out: &mut Vec<Target>,
    ) {
        let path = &self.probes[probe as usize];
        let values = crate::eval::probe_values(obs, object, path);
        for v in values {
            if let Some(k) = KeyValue::of_json(v) {
                if let Some(ts) = self.eq.get(&eq_hash(probe, &k)) {
                    out.extend_from_slice(ts);
                }
            }
            let Some(s) = v.as_str() else { continue };
            if let Some(lengths) = self.cidr_lengths.get(&probe) {
                if let Ok(net) = crate::cidr::parse(s, false) {
                    for &(v6, len) in lengths {
                        let masked = match net {
                            Net::V4(a, p) if !v6 && p >= len => Some(u128::from(mask4(a, len))),
                            Net::V6(a, p) if v6 && p >= len => Some(mask6(a, len)),
                            _ => None,
                        };
                        if let Some(m) = masked {
                            if let Some(ts) = self.cidr.get(&(probe, len + u8::from(v6) * 128, m)) {
                                out.extend_from_slice(ts);
                            }
                        }
                    }
                }
            }
            if self.substring_probes.get(probe as usize) == Some(&true) {
                if let Some(ac) = &self.substrings {
                    let text = crate::text::nfc_if_needed(s);
                    for m in ac.find_overlapping_iter(text.as_ref()) {
                        let (p, t) = self.substring_targets[m.pattern().as_usize()];
                        if p == probe {
                            out.push(t);
                        }
                    }
                }
            }
        }
    }
}

fn mask4(a: u32, len: u8) -> u32 {
    a & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask6(a: u128, len: u8) -> u128 {
    a & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

#[derive(Default)]
struct Builder {
    patterns: Vec<Pattern>,
    parts: Vec<Vec<ObsExpr>>,
    part_offsets: Vec<Vec<usize>>,
    multi: Vec<bool>,
    probe_ids: FxHashMap<ObjectPath, ProbeId>,
    probes: Vec<ObjectPath>,
    eq: FxHashMap<u64, Vec<Target>>,
    cidr: FxHashMap<(ProbeId, u8, u128), Vec<Target>>,
    cidr_lengths: FxHashMap<ProbeId, Vec<(bool, u8)>>,
    pieces: Vec<String>,
    substring_targets: Vec<(ProbeId, Target)>,
    unindexed: Vec<Target>,
    stats: Stats,
}

impl Builder {
    fn placeholder(&mut self) {
        self.patterns.push(placeholder_pattern());
        self.parts.push(Vec::new());
        self.part_offsets.push(Vec::new());
        self.multi.push(false);
    }

    fn probe(&mut self, path: &ObjectPath) -> ProbeId {
        if let Some(id) = self.probe_ids.get(path) {
            return *id;
        }
        let id = self.probes.len() as ProbeId;
        self.probes.push(path.clone());
        self.probe_ids.insert(path.clone(), id);
        id
    }

    fn add(&mut self, id: PatternId, pattern: Pattern) {
        let mut parts = Vec::new();
        collect_parts(pattern.root(), &mut parts);
        let multi = !matches!(pattern.root(), ObsExpr::Simple(_));
        self.stats.patterns += 1;
        if multi {
            self.stats.multi += 1;
        } else {
            self.stats.single += 1;
        }
        for (i, part) in parts.iter().enumerate() {
            let ObsExpr::Simple(comparison) = part else {
                continue;
            };
            count_tests(comparison, &mut self.stats);
            let target = Target {
                pattern: id,
                part: i as u32,
            };
            match keys::keys(comparison) {
                None => {
                    self.unindexed.push(target);
                    self.stats.unindexed += 1;
                }
                Some(ks) => ks.into_iter().for_each(|k| self.add_key(k, target)),
            }
        }
        let mut offsets = Vec::with_capacity(parts.len());
        let mut offset = 0;
        for part in &parts {
            offsets.push(offset);
            let mut prepared = Vec::new();
            crate::prepare_obs(part, &mut prepared);
            offset += prepared.len();
        }
        self.patterns.push(pattern);
        self.parts.push(parts);
        self.part_offsets.push(offsets);
        self.multi.push(multi);
    }

    fn add_key(&mut self, key: Key, target: Target) {
        let probe = self.probe(key.path());
        match key {
            Key::Eq(_, v) => {
                self.eq.entry(eq_hash(probe, &v)).or_default().push(target);
                self.stats.eq_keys += 1;
            }
            Key::Cidr(_, net) => {
                let (v6, len, masked) = match net {
                    Net::V4(a, l) => (false, l, u128::from(mask4(a, l))),
                    Net::V6(a, l) => (true, l, mask6(a, l)),
                };
                self.cidr
                    .entry((probe, len + u8::from(v6) * 128, masked))
                    .or_default()
                    .push(target);
                let lengths = self.cidr_lengths.entry(probe).or_default();
                if !lengths.contains(&(v6, len)) {
                    lengths.push((v6, len));
                }
                self.stats.cidr_keys += 1;
            }
            Key::Substring(_, piece) => {
                self.pieces.push(piece);
                self.substring_targets.push((probe, target));
                self.stats.substring_keys += 1;
            }
        }
    }

    fn finish(mut self) -> PatternSet {
        let substrings = (!self.pieces.is_empty())
            .then(|| AhoCorasick::new(&self.pieces).ok())
            .flatten();
        let mut substring_probes = vec![false; self.probes.len()];
        for (p, _) in &self.substring_targets {
            substring_probes[*p as usize] = true;
        }
        let mut probes_by_type: FxHashMap<String, Vec<ProbeId>> = FxHashMap::default();
        for (i, p) in self.probes.iter().enumerate() {
            probes_by_type
                .entry(p.object_type.clone())
                .or_default()
                .push(i as ProbeId);
        }
        self.stats.probes = self.probes.len();
        self.stats.heap_bytes = estimate_heap(&self);
        PatternSet {
            patterns: self.patterns,
            parts: self.parts,
            part_offsets: self.part_offsets,
            multi: self.multi,
            probes: self.probes,
            probes_by_type,
            eq: self.eq,
            cidr: self.cidr,
            cidr_lengths: self.cidr_lengths,
            substrings,
            substring_targets: self.substring_targets,
            substring_probes,
            unindexed: self.unindexed,
            stats: self.stats,
        }
    }
}

/// A rough account of the index's heap: entries and the vectors they point to.
fn estimate_heap(b: &Builder) -> usize {
    let targets = std::mem::size_of::<Target>();
    let eq: usize = b.eq.values().map(|v| 48 + v.capacity() * targets).sum();
    let cidr: usize = b.cidr.values().map(|v| 64 + v.capacity() * targets).sum();
    let pieces: usize = b.pieces.iter().map(|p| p.len() * 40).sum();
    eq + cidr + pieces
}

fn placeholder_pattern() -> Pattern {
    Pattern {
        root: ObsExpr::Or(Vec::new()),
        version: Version::V21,
        prepared: Vec::new(),
    }
}

/// The `[...]` parts of an observation expression, in the order the evaluator meets them.
fn collect_parts(expr: &ObsExpr, out: &mut Vec<ObsExpr>) {
    match expr {
        ObsExpr::Simple(_) => out.push(expr.clone()),
        ObsExpr::Group(inner) | ObsExpr::Qualified(inner, _) => collect_parts(inner, out),
        ObsExpr::And(items) | ObsExpr::Or(items) | ObsExpr::FollowedBy(items) => {
            items.iter().for_each(|i| collect_parts(i, out))
        }
    }
}

fn count_tests(expr: &crate::ast::CompExpr, stats: &mut Stats) {
    use crate::ast::CompExpr;
    match expr {
        CompExpr::And(items) | CompExpr::Or(items) => {
            items.iter().for_each(|i| count_tests(i, stats))
        }
        CompExpr::Test(t) => {
            *stats
                .operators
                .entry(t.op.symbol().to_string())
                .or_default() += 1;
            *stats
                .object_types
                .entry(t.path.object_type.clone())
                .or_default() += 1;
        }
    }
}

/// A match of one pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The pattern.
    pub pattern: PatternId,
    /// Sequence numbers (as given to [`Matcher::observe`]) of the observations of the
    /// binding, the current one included.
    pub observations: Vec<u64>,
}

/// Runs observations through a [`PatternSet`]. One matcher per worker thread; the state of
/// multi-observation patterns lives here.
pub struct Matcher<'s> {
    set: &'s PatternSet,
    windows: Windows,
    candidates: Vec<Target>,
    /// Evaluations that failed on bad input (counted, never fatal).
    pub eval_errors: u64,
}

impl<'s> Matcher<'s> {
    /// A matcher with the default window limits.
    pub fn new(set: &'s PatternSet) -> Self {
        Self::with_limits(set, WindowLimits::default())
    }

    /// A matcher with explicit window limits.
    pub fn with_limits(set: &'s PatternSet, limits: WindowLimits) -> Self {
        Matcher {
            set,
            windows: Windows::new(limits),
            candidates: Vec::new(),
            eval_errors: 0,
        }
    }

    /// Observations dropped from windows because a bound was reached.
    pub fn dropped(&self) -> u64 {
        self.windows.dropped
    }

    /// Matches one observation (its sequence number `seq` names it in hits).
    pub fn observe(&mut self, seq: u64, obs: &Observation<'_>, hits: &mut Vec<Hit>) {
        self.candidates.clear();
        let mut candidates = std::mem::take(&mut self.candidates);
        self.set.candidates(obs, &mut candidates);
        let one = std::slice::from_ref(obs);
        let mut last_pattern = None;
        for t in &candidates {
            let pattern = &self.set.patterns[t.pattern as usize];
            if self.set.multi[t.pattern as usize] {
                let part = &self.set.parts[t.pattern as usize][t.part as usize];
                let offset = self.set.part_offsets[t.pattern as usize][t.part as usize];
                match pattern.evaluate_part(part, offset, one) {
                    Ok(Some(_)) => {
                        self.windows.push(t.pattern, t.part, seq, obs);
                    }
                    Ok(None) => {}
                    Err(_) => self.eval_errors += 1,
                }
                continue;
            }
            if last_pattern == Some(t.pattern) {
                continue;
            }
            last_pattern = Some(t.pattern);
            match pattern.evaluate_observations(one) {
                Ok(Some(_)) => hits.push(Hit {
                    pattern: t.pattern,
                    observations: vec![seq],
                }),
                Ok(None) => {}
                Err(_) => self.eval_errors += 1,
            }
        }
        self.candidates = candidates;
        for (pattern, seq_list) in self.windows.take_dirty(obs.last) {
            let p = &self.set.patterns[pattern as usize];
            let window_obs = self.windows.observations(pattern);
            match p.evaluate_observations(&window_obs) {
                Ok(Some(indexes)) => {
                    let observations: Vec<u64> = indexes.iter().map(|i| seq_list[*i]).collect();
                    if observations.contains(&seq) {
                        hits.push(Hit {
                            pattern,
                            observations,
                        });
                    }
                }
                Ok(None) => {}
                Err(_) => self.eval_errors += 1,
            }
        }
    }
}

impl Pattern {
    /// Matches pre-built observations; returns indexes into them of the first binding.
    pub fn evaluate_observations(
        &self,
        obs: &[Observation<'_>],
    ) -> Result<Option<Vec<usize>>, crate::EvalError> {
        Evaluator::new(self.version, &self.prepared, obs).first_binding(&self.root)
    }

    /// Matches one `[...]` part of this pattern, whose prepared operands start at `offset`.
    fn evaluate_part(
        &self,
        part: &ObsExpr,
        offset: usize,
        obs: &[Observation<'_>],
    ) -> Result<Option<Vec<usize>>, crate::EvalError> {
        Evaluator::new(self.version, &self.prepared[offset..], obs).first_binding(part)
    }
}
