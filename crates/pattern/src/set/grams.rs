//! A prefilter for the substring index of `LIKE` and `MATCHES` keys.
//!
//! Each literal piece the value must contain is represented by one window of it, at most
//! eight bytes long (its middle, where a URL key holds its host rather than `http://`). A
//! value's windows of each length in use are hashed and checked against a Bloom filter small
//! enough to stay in the core's cache; only a value with a window in the filter is searched by
//! the Aho-Corasick automaton, whose walk over a hundred thousand pieces misses the cache at
//! nearly every byte. The filter is complete — a value that contains a piece contains its
//! window — and the automaton stays exact, so no candidate is added.

use super::bloom::Bloom;
use super::ProbeId;
use rustc_hash::FxHashMap;

/// The longest window: one machine word.
const WINDOW: usize = 8;

/// Windows being gathered.
#[derive(Default)]
pub(super) struct GramsBuilder {
    hashes: Vec<u64>,
    lengths: FxHashMap<ProbeId, Vec<u8>>,
}

/// The compiled prefilter.
pub(super) struct Grams {
    filter: Bloom,
    lengths: FxHashMap<ProbeId, Vec<u8>>,
}

/// The window of a piece that represents it.
fn window(piece: &[u8]) -> &[u8] {
    if piece.len() <= WINDOW {
        return piece;
    }
    let start = (piece.len() - WINDOW) / 2;
    &piece[start..start + WINDOW]
}

/// MurmurHash3's 64-bit finaliser over the window, its length and the probe: every output bit
/// depends on every input bit, which the filter needs of both the block and the bits it picks.
fn gram_hash(probe: ProbeId, gram: &[u8]) -> u64 {
    let word = match <[u8; WINDOW]>::try_from(gram) {
        Ok(full) => full,
        Err(_) => {
            let mut word = [0u8; WINDOW];
            word[..gram.len()].copy_from_slice(gram);
            word
        }
    };
    let seed = (u64::from(probe) << 8 | gram.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut h = u64::from_le_bytes(word) ^ seed;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl GramsBuilder {
    pub(super) fn add(&mut self, probe: ProbeId, piece: &str) {
        let gram = window(piece.as_bytes());
        self.hashes.push(gram_hash(probe, gram));
        let lengths = self.lengths.entry(probe).or_default();
        if !lengths.contains(&(gram.len() as u8)) {
            lengths.push(gram.len() as u8);
        }
    }

    pub(super) fn finish(self) -> Grams {
        Grams {
            filter: Bloom::with_keys(self.hashes.iter().copied(), self.hashes.len()),
            lengths: self.lengths,
        }
    }
}

impl Grams {
    /// Whether `text`, at `probe`, may contain a piece; `false` means certainly none.
    pub(super) fn may_contain_any(&self, probe: ProbeId, text: &[u8]) -> bool {
        let Some(lengths) = self.lengths.get(&probe) else {
            return false;
        };
        lengths.iter().any(|&len| {
            text.windows(usize::from(len))
                .any(|gram| self.filter.may_contain(gram_hash(probe, gram)))
        })
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.filter.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_with_a_piece_passes_and_most_without_do_not() {
        let mut b = GramsBuilder::default();
        let pieces: Vec<String> = (0..10_000)
            .map(|i| format!("://host{i}.example/"))
            .collect();
        for p in &pieces {
            b.add(1, p);
        }
        b.add(1, "abc");
        let grams = b.finish();
        for p in &pieces {
            assert!(grams.may_contain_any(1, format!("http{p}index.html").as_bytes()));
        }
        assert!(grams.may_contain_any(1, b"xxabcxx"));
        assert!(!grams.may_contain_any(2, b"xxabcxx"), "another probe");
        let passed = (0..10_000)
            .filter(|i| grams.may_contain_any(1, format!("https://other{i}.test/x").as_bytes()))
            .count();
        assert!(
            passed < 500,
            "{passed} of 10,000 texts without a piece passed"
        );
    }
}
