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

mod bloom;
mod grams;
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

/// The targets of one index entry; nearly always exactly one, kept inline.
#[derive(Clone, Debug)]
enum Targets {
    One(Target),
    Many(Vec<Target>),
}

impl Targets {
    fn push(&mut self, t: Target) {
        match self {
            Targets::One(first) => *self = Targets::Many(vec![*first, t]),
            Targets::Many(v) => v.push(t),
        }
    }

    fn extend_into(&self, out: &mut Vec<Target>) {
        match self {
            Targets::One(t) => out.push(*t),
            Targets::Many(v) => out.extend_from_slice(v),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Targets::One(_) => 0,
            Targets::Many(v) => v.capacity() * std::mem::size_of::<Target>(),
        }
    }
}

fn add_target<K: Eq + Hash>(map: &mut FxHashMap<K, Targets>, key: K, t: Target) {
    match map.entry(key) {
        std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().push(t),
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(Targets::One(t));
        }
    }
}

/// An immutable, indexed set of patterns. `Send + Sync`: many matchers may share one.
///
/// Only the pattern texts are kept besides the indexes: a matcher parses a pattern again when
/// it has to verify a candidate (and caches it), which keeps a million indicators in a few
/// hundred megabytes.
pub struct PatternSet {
    texts: Vec<Box<str>>,
    versions: Vec<Version>,
    multi: Vec<bool>,
    probes: Vec<ObjectPath>,
    /// The probes of each object type; a handful of types, so a list beats a map.
    probes_by_type: Vec<(String, Vec<ProbeId>)>,
    eq: FxHashMap<u64, Targets>,
    /// Answers "certainly not in `eq`" from a few megabytes that stay in cache, so the
    /// lookups of the 99 % of values no indicator names never touch the large table.
    eq_filter: bloom::Bloom,
    /// (probe, prefix length + 128 for IPv6, masked address) → targets.
    cidr: FxHashMap<(ProbeId, u8, u128), Targets>,
    /// The same guard for the network index.
    cidr_filter: bloom::Bloom,
    /// The prefix lengths of the network index, by probe (a list: it is read for every value).
    cidr_lengths: Vec<Vec<(bool, u8)>>,
    /// One Aho-Corasick automaton over every literal piece of `LIKE`/`MATCHES` operands.
    substrings: Option<AhoCorasick>,
    substring_targets: Vec<(ProbeId, Target)>,
    substring_probes: Vec<bool>,
    /// Whether any equality key reads each probe: a value at a probe without one (a URL
    /// that only `LIKE` patterns read) costs no look-up.
    eq_probes: Vec<bool>,
    /// Rules out, before the automaton runs, values that contain no piece.
    grams: grams::Grams,
    unindexed: Vec<Target>,
    stats: Stats,
}

fn cidr_hash(key: &(ProbeId, u8, u128)) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

/// A value as the equality index hashes it, borrowed from an observation or a literal.
#[derive(Clone, Copy)]
enum KeyRef<'a> {
    Str(&'a str),
    Int(i128),
    Float(u64),
}

impl<'a> KeyRef<'a> {
    fn of_key(k: &'a KeyValue) -> Self {
        match k {
            KeyValue::Str(s) => KeyRef::Str(s),
            KeyValue::Int(i) => KeyRef::Int(*i),
            KeyValue::Float(f) => KeyRef::Float(*f),
        }
    }

    fn of_probe(v: ProbeValue<'a>) -> Self {
        match v {
            ProbeValue::Str(s) => KeyRef::Str(s),
            ProbeValue::Int(i) => KeyRef::Int(i),
            // The same normal form as `keys::float_key`: integral floats equal integers.
            ProbeValue::Float(f) if f.fract() == 0.0 && f.abs() < 1e30 => KeyRef::Int(f as i128),
            ProbeValue::Float(f) => KeyRef::Float(f.to_bits()),
        }
    }
}

/// A value an observation shows at one of the set's probes, as a decoder hands it to
/// [`Matcher::probe`] without building the observation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ProbeValue<'a> {
    /// Text.
    Str(&'a str),
    /// An integer (booleans are 0 and 1, as the evaluator compares them).
    Int(i128),
    /// A number with a fraction.
    Float(f64),
}

impl<'a> ProbeValue<'a> {
    /// The probe value of a JSON value; `None` for what the indexes never hold (null, lists,
    /// objects).
    pub fn of_json(v: &'a serde_json::Value) -> Option<Self> {
        match v {
            serde_json::Value::String(s) => Some(ProbeValue::Str(s)),
            serde_json::Value::Bool(b) => Some(ProbeValue::Int(i128::from(*b))),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(|i| ProbeValue::Int(i128::from(i)))
                .or_else(|| n.as_u64().map(|u| ProbeValue::Int(i128::from(u))))
                .or_else(|| n.as_f64().map(ProbeValue::Float)),
            _ => None,
        }
    }
}

fn eq_hash(probe: ProbeId, value: KeyRef<'_>) -> u64 {
    let mut h = FxHasher::default();
    h.write_u32(probe);
    match value {
        KeyRef::Str(s) => {
            h.write_u8(0);
            h.write(s.as_bytes());
            h.write_u8(0xff);
        }
        KeyRef::Int(i) => {
            h.write_u8(1);
            h.write_i128(i);
        }
        KeyRef::Float(f) => {
            h.write_u8(2);
            h.write_u64(f);
        }
    }
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
                Ok(p) => builder.add(index as PatternId, text, version, &p),
                Err(error) => {
                    builder.placeholder(version);
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

    /// Number of pattern ids (rejected ones included).
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether the set has no patterns.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The text of the pattern with this id.
    pub fn text(&self, id: PatternId) -> Option<&str> {
        self.texts.get(id as usize).map(|t| &**t)
    }

    /// Parses a pattern of the set again, with its parts and where their operands start.
    fn parsed(&self, id: PatternId) -> Option<Parsed> {
        let i = id as usize;
        let pattern = Pattern::parse_version(&self.texts[i], self.versions[i]).ok()?;
        let mut parts = Vec::new();
        collect_parts(pattern.root(), &mut parts);
        let mut offsets = Vec::with_capacity(parts.len());
        let mut offset = 0;
        for part in &parts {
            offsets.push(offset);
            part.for_each_test(&mut |_| offset += 1);
        }
        Some(Parsed {
            pattern,
            parts,
            offsets,
        })
    }

    /// The object paths the set reads from observations; [`Matcher::observe_probed`] names one
    /// by its position here.
    pub fn probes(&self) -> &[ObjectPath] {
        &self.probes
    }

    /// The values an observation shows at the set's probes, found by walking its objects:
    /// what a decoder that cannot extract them directly hands [`Matcher::observe_probed`].
    pub fn probe_values<'a>(&self, obs: &Observation<'a>) -> Vec<(u32, &'a serde_json::Value)> {
        let mut out = Vec::new();
        self.for_each_probe_value(obs, &mut |probe, v| out.push((probe, v)));
        out
    }

    /// Calls `f` with each probe and the value it reaches, for every object of `obs`.
    fn for_each_probe_value<'a>(
        &self,
        obs: &Observation<'a>,
        f: &mut impl FnMut(ProbeId, &'a serde_json::Value),
    ) {
        for sco in &obs.objects {
            let Some((_, probes)) = self
                .probes_by_type
                .iter()
                .find(|(kind, _)| watchpost_stix::schema::name_eq(kind, sco.kind))
            else {
                continue;
            };
            for &probe in probes {
                let path = &self.probes[probe as usize];
                crate::eval::visit_probe(obs, sco.object, &path.steps, &mut |v| f(probe, v));
            }
        }
    }

    /// The index look-ups an observation needs (to `lookups`, tagged with `slot`), and the
    /// candidates found without a look-up (to `direct`: substring hits).
    fn gather(
        &self,
        obs: &Observation<'_>,
        slot: u32,
        lookups: &mut Vec<(u32, Lookup)>,
        direct: &mut Vec<Target>,
    ) {
        self.for_each_probe_value(obs, &mut |probe, v| {
            if let Some(v) = ProbeValue::of_json(v) {
                self.value_lookups(probe, v, slot, lookups, direct)
            }
        });
    }

    fn value_lookups(
        &self,
        probe: ProbeId,
        v: ProbeValue<'_>,
        slot: u32,
        lookups: &mut Vec<(u32, Lookup)>,
        direct: &mut Vec<Target>,
    ) {
        if self.eq_probes.get(probe as usize) == Some(&true) {
            lookups.push((slot, Lookup::Eq(eq_hash(probe, KeyRef::of_probe(v)))));
        }
        let ProbeValue::Str(s) = v else { return };
        if let Some(lengths) = self
            .cidr_lengths
            .get(probe as usize)
            .filter(|l| !l.is_empty())
        {
            if let Ok(net) = crate::cidr::parse(s, false) {
                for &(v6, len) in lengths {
                    let masked = match net {
                        Net::V4(a, p) if !v6 && p >= len => Some(u128::from(mask4(a, len))),
                        Net::V6(a, p) if v6 && p >= len => Some(mask6(a, len)),
                        _ => None,
                    };
                    if let Some(m) = masked {
                        lookups.push((slot, Lookup::Cidr(probe, len + u8::from(v6) * 128, m)));
                    }
                }
            }
        }
        if self.substring_probes.get(probe as usize) == Some(&true) {
            self.search_substrings(probe, s, direct);
        }
    }

    /// The substring keys `s` contains, at `probe`. The automaton's walk misses the cache at
    /// every byte once it holds a hundred thousand pieces, so a Bloom filter over one window
    /// of each piece ([`grams`]) first rules out nearly every value that contains none.
    fn search_substrings(&self, probe: ProbeId, s: &str, direct: &mut Vec<Target>) {
        let Some(ac) = &self.substrings else { return };
        let text = crate::text::nfc_if_needed(s);
        if !self.grams.may_contain_any(probe, text.as_bytes()) {
            return;
        }
        for m in ac.find_overlapping_iter(text.as_bytes()) {
            let (p, t) = self.substring_targets[m.pattern().as_usize()];
            if p == probe {
                direct.push(t);
            }
        }
    }

    /// Runs gathered look-ups. They are independent of one another, so the processor overlaps
    /// their cache misses; done one observation at a time they would wait in line.
    fn resolve(&self, lookups: &[(u32, Lookup)], per_slot: &mut [Vec<Target>]) {
        for &(slot, lookup) in lookups {
            let found = match lookup {
                Lookup::Eq(h) => {
                    if !self.eq_filter.may_contain(h) {
                        continue;
                    }
                    self.eq.get(&h)
                }
                Lookup::Cidr(probe, len, masked) => {
                    let key = (probe, len, masked);
                    if !self.cidr_filter.may_contain(cidr_hash(&key)) {
                        continue;
                    }
                    self.cidr.get(&key)
                }
            };
            if let Some(ts) = found {
                ts.extend_into(&mut per_slot[slot as usize]);
            }
        }
    }
}

/// One index look-up of an observation.
#[derive(Clone, Copy, Debug)]
enum Lookup {
    Eq(u64),
    Cidr(ProbeId, u8, u128),
}

/// A pattern parsed again for verification.
struct Parsed {
    pattern: Pattern,
    parts: Vec<ObsExpr>,
    offsets: Vec<usize>,
}

fn mask4(a: u32, len: u8) -> u32 {
    a & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask6(a: u128, len: u8) -> u128 {
    a & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

#[derive(Default)]
struct Builder {
    texts: Vec<Box<str>>,
    versions: Vec<Version>,
    multi: Vec<bool>,
    probe_ids: FxHashMap<ObjectPath, ProbeId>,
    probes: Vec<ObjectPath>,
    eq: FxHashMap<u64, Targets>,
    cidr: FxHashMap<(ProbeId, u8, u128), Targets>,
    cidr_lengths: FxHashMap<ProbeId, Vec<(bool, u8)>>,
    pieces: Vec<String>,
    substring_targets: Vec<(ProbeId, Target)>,
    grams: grams::GramsBuilder,
    eq_key_probes: rustc_hash::FxHashSet<ProbeId>,
    unindexed: Vec<Target>,
    stats: Stats,
}

impl Builder {
    fn placeholder(&mut self, version: Version) {
        self.texts.push("".into());
        self.versions.push(version);
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

    fn add(&mut self, id: PatternId, text: &str, version: Version, pattern: &Pattern) {
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
        self.texts.push(text.into());
        self.versions.push(version);
        self.multi.push(multi);
    }

    fn add_key(&mut self, key: Key, target: Target) {
        let probe = self.probe(key.path());
        match key {
            Key::Eq(_, v) => {
                add_target(&mut self.eq, eq_hash(probe, KeyRef::of_key(&v)), target);
                self.eq_key_probes.insert(probe);
                self.stats.eq_keys += 1;
            }
            Key::Cidr(_, net) => {
                let (v6, len, masked) = match net {
                    Net::V4(a, l) => (false, l, u128::from(mask4(a, l))),
                    Net::V6(a, l) => (true, l, mask6(a, l)),
                };
                add_target(
                    &mut self.cidr,
                    (probe, len + u8::from(v6) * 128, masked),
                    target,
                );
                let lengths = self.cidr_lengths.entry(probe).or_default();
                if !lengths.contains(&(v6, len)) {
                    lengths.push((v6, len));
                }
                self.stats.cidr_keys += 1;
            }
            Key::Substring(_, piece) => {
                self.grams.add(probe, &piece);
                self.pieces.push(piece);
                self.substring_targets.push((probe, target));
                self.stats.substring_keys += 1;
            }
        }
    }

    fn finish(mut self) -> PatternSet {
        // The contiguous NFA is the compact form: a DFA over 100,000 pieces would take
        // gigabytes, and measured no faster once the automaton outgrows the cache anyway.
        let substrings = (!self.pieces.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                    .build(&self.pieces)
                    .ok()
            })
            .flatten();
        let mut eq_probes = vec![false; self.probes.len()];
        for p in &self.eq_key_probes {
            eq_probes[*p as usize] = true;
        }
        let mut substring_probes = vec![false; self.probes.len()];
        for (p, _) in &self.substring_targets {
            substring_probes[*p as usize] = true;
        }
        let mut probes_by_type: Vec<(String, Vec<ProbeId>)> = Vec::new();
        for (i, p) in self.probes.iter().enumerate() {
            match probes_by_type.iter_mut().find(|(k, _)| *k == p.object_type) {
                Some((_, ids)) => ids.push(i as ProbeId),
                None => probes_by_type.push((p.object_type.clone(), vec![i as ProbeId])),
            }
        }
        let eq_filter = bloom::Bloom::with_keys(self.eq.keys().copied(), self.eq.len());
        let cidr_filter = bloom::Bloom::with_keys(self.cidr.keys().map(cidr_hash), self.cidr.len());
        self.stats.probes = self.probes.len();
        let grams = std::mem::take(&mut self.grams).finish();
        let cidr_lengths = (0..self.probes.len() as ProbeId)
            .map(|p| self.cidr_lengths.remove(&p).unwrap_or_default())
            .collect();
        self.stats.heap_bytes =
            estimate_heap(&self, substrings.as_ref()) + eq_filter.heap_bytes() + grams.heap_bytes();
        PatternSet {
            texts: self.texts,
            versions: self.versions,
            multi: self.multi,
            probes: self.probes,
            probes_by_type,
            eq: self.eq,
            eq_filter,
            cidr: self.cidr,
            cidr_filter,
            cidr_lengths,
            substrings,
            substring_targets: self.substring_targets,
            substring_probes,
            eq_probes,
            grams,
            unindexed: self.unindexed,
            stats: self.stats,
        }
    }
}

/// The heap the set holds: texts, index tables (at their capacity), the automaton.
fn estimate_heap(b: &Builder, ac: Option<&AhoCorasick>) -> usize {
    let entry = std::mem::size_of::<(u64, Targets)>() + 1;
    let texts: usize = b.texts.iter().map(|t| t.len() + 16).sum();
    let eq = b.eq.capacity() * entry + b.eq.values().map(Targets::heap_bytes).sum::<usize>();
    let cidr_entry = std::mem::size_of::<((ProbeId, u8, u128), Targets)>() + 1;
    let cidr =
        b.cidr.capacity() * cidr_entry + b.cidr.values().map(Targets::heap_bytes).sum::<usize>();
    let pieces = b.substring_targets.capacity() * std::mem::size_of::<(ProbeId, Target)>();
    texts + eq + cidr + pieces + ac.map_or(0, AhoCorasick::memory_usage)
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
    expr.for_each_test(&mut |t| {
        *stats
            .operators
            .entry(t.op.symbol().to_string())
            .or_default() += 1;
        *stats
            .object_types
            .entry(t.path.object_type.clone())
            .or_default() += 1;
    });
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

/// How many parsed patterns a matcher keeps for verification. Hits concentrate on few
/// indicators, so a modest cache avoids nearly every re-parse.
const PARSED_CACHE: usize = 16_384;

/// Runs observations through a [`PatternSet`]. One matcher per worker thread; the state of
/// multi-observation patterns lives here.
pub struct Matcher<'s> {
    set: &'s PatternSet,
    windows: Windows,
    lookups: Vec<(u32, Lookup)>,
    per_slot: Vec<Vec<Target>>,
    /// Observations in the batch being probed.
    batch_len: usize,
    parsed: FxHashMap<PatternId, std::rc::Rc<Parsed>>,
    /// Evaluations that failed on bad input (counted, never fatal).
    pub eval_errors: u64,
    /// Candidate parts verified with the evaluator (the index's false positives and hits).
    pub verified: u64,
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
            lookups: Vec::new(),
            per_slot: Vec::new(),
            batch_len: 0,
            parsed: FxHashMap::default(),
            eval_errors: 0,
            verified: 0,
        }
    }

    /// Observations dropped from windows because a bound was reached.
    pub fn dropped(&self) -> u64 {
        self.windows.dropped
    }

    fn parsed(&mut self, id: PatternId) -> Option<std::rc::Rc<Parsed>> {
        if let Some(p) = self.parsed.get(&id) {
            return Some(p.clone());
        }
        if self.parsed.len() >= PARSED_CACHE {
            self.parsed.clear();
        }
        let p = std::rc::Rc::new(self.set.parsed(id)?);
        self.parsed.insert(id, p.clone());
        Some(p)
    }

    /// Matches one observation (its sequence number `seq` names it in hits).
    pub fn observe(&mut self, seq: u64, obs: &Observation<'_>, hits: &mut Vec<Hit>) {
        self.observe_batch(seq, std::slice::from_ref(obs), hits);
    }

    /// Matches consecutive observations numbered `first_seq`, `first_seq + 1`, …: the same
    /// hits as calling [`Matcher::observe`] on each in turn, faster, because the index
    /// look-ups of the whole batch run together (a few dozen observations is enough).
    pub fn observe_batch(
        &mut self,
        first_seq: u64,
        batch: &[Observation<'_>],
        hits: &mut Vec<Hit>,
    ) {
        self.start_probes();
        self.grow(batch.len());
        for (slot, obs) in batch.iter().enumerate() {
            self.set.gather(
                obs,
                slot as u32,
                &mut self.lookups,
                &mut self.per_slot[slot],
            );
        }
        for slot in self.candidate_slots(batch.len()) {
            self.verify_slot(first_seq + slot as u64, slot, &batch[slot], hits);
        }
    }

    /// Like [`Matcher::observe_batch`], with the values at the set's probes already extracted
    /// (`probed[i]` for `batch[i]`, as [`PatternSet::probe_values`] gives them).
    pub fn observe_probed(
        &mut self,
        first_seq: u64,
        batch: &[Observation<'_>],
        probed: &[Vec<(u32, &serde_json::Value)>],
        hits: &mut Vec<Hit>,
    ) {
        self.start_probes();
        for (slot, values) in probed.iter().enumerate() {
            for &(probe, v) in values {
                if let Some(v) = ProbeValue::of_json(v) {
                    self.probe(slot, probe, v);
                }
            }
        }
        for slot in self.candidate_slots(batch.len()) {
            self.verify_slot(first_seq + slot as u64, slot, &batch[slot], hits);
        }
    }

    /// The fast path, step 1: a batch of observations begins. A decoder then hands each value
    /// it finds at one of the set's probes to [`Matcher::probe`], asks which observations
    /// may match ([`Matcher::candidate_slots`]), and builds only those for
    /// [`Matcher::verify_slot`]. The hits are those of [`Matcher::observe_batch`].
    pub fn start_probes(&mut self) {
        self.lookups.clear();
        for targets in &mut self.per_slot[..self.batch_len] {
            targets.clear();
        }
        self.batch_len = 0;
    }

    /// Step 2: observation `slot` of the batch (numbered from 0) shows `value` at probe
    /// `probe` (a position in [`PatternSet::probes`]). Probes out of range are ignored.
    pub fn probe(&mut self, slot: usize, probe: u32, value: ProbeValue<'_>) {
        if probe as usize >= self.set.probes.len() {
            return;
        }
        self.grow(slot + 1);
        self.set.value_lookups(
            probe,
            value,
            slot as u32,
            &mut self.lookups,
            &mut self.per_slot[slot],
        );
    }

    fn grow(&mut self, len: usize) {
        if self.per_slot.len() < len {
            self.per_slot.resize_with(len, Vec::new);
        }
        self.batch_len = self.batch_len.max(len);
    }

    /// Step 3: which of the batch's `len` observations may match, in order; every other one
    /// certainly matches nothing and need not be built.
    pub fn candidate_slots(&mut self, len: usize) -> Vec<usize> {
        self.grow(len);
        if !self.set.unindexed.is_empty() {
            for targets in &mut self.per_slot[..len] {
                targets.extend_from_slice(&self.set.unindexed);
            }
        }
        self.set.resolve(&self.lookups, &mut self.per_slot);
        self.lookups.clear();
        (0..len)
            .filter(|&slot| !self.per_slot[slot].is_empty())
            .collect()
    }

    /// Step 4: verifies candidate `slot` of the batch, now built as `obs` and numbered `seq`.
    /// Slots must be verified in order.
    pub fn verify_slot(
        &mut self,
        seq: u64,
        slot: usize,
        obs: &Observation<'_>,
        hits: &mut Vec<Hit>,
    ) {
        let Some(targets) = self.per_slot.get_mut(slot) else {
            return;
        };
        let mut candidates = std::mem::take(targets);
        if candidates.len() > 1 {
            candidates.sort_unstable();
            candidates.dedup();
        }
        self.verify(seq, obs, &candidates, hits);
        candidates.clear();
        self.per_slot[slot] = candidates;
    }

    /// Verifies the candidates of one observation and advances the windows.
    fn verify(
        &mut self,
        seq: u64,
        obs: &Observation<'_>,
        candidates: &[Target],
        hits: &mut Vec<Hit>,
    ) {
        self.verified += candidates.len() as u64;
        let one = std::slice::from_ref(obs);
        let mut last_pattern = None;
        for t in candidates {
            let Some(parsed) = self.parsed(t.pattern) else {
                continue;
            };
            if self.set.multi[t.pattern as usize] {
                let part = &parsed.parts[t.part as usize];
                let offset = parsed.offsets[t.part as usize];
                match parsed.pattern.evaluate_part(part, offset, one) {
                    Ok(Some(_)) => self.windows.push(t.pattern, seq, obs),
                    Ok(None) => {}
                    Err(_) => self.eval_errors += 1,
                }
                continue;
            }
            if last_pattern == Some(t.pattern) {
                continue;
            }
            last_pattern = Some(t.pattern);
            match parsed.pattern.evaluate_observations(one) {
                Ok(Some(_)) => hits.push(Hit {
                    pattern: t.pattern,
                    observations: vec![seq],
                }),
                Ok(None) => {}
                Err(_) => self.eval_errors += 1,
            }
        }
        for (pattern, seq_list) in self.windows.take_dirty(obs.last) {
            let Some(parsed) = self.parsed(pattern) else {
                continue;
            };
            let window_obs = self.windows.observations(pattern);
            match parsed.pattern.evaluate_observations(&window_obs) {
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
