//! IoC extraction scored against hand-checked labels of real reports (ESET malware-ioc write-ups
//! in `tests/data/reports/`), beside ioc-finder (PyPI) on the same labels. docs/conformance.md,
//! section "IoC extraction", records the figures this test prints.
//!
//! Scoring: a prediction is a `(kind, value)` pair; both tools are scored on the kinds both
//! extract (ATT&CK ids are scored for Watchpost alone, ioc-finder found none in these tables).
//! A predicted domain that is not labelled but is the host of a labelled URL counts neither way:
//! whether the host of a URL is reported too is a choice of output, not a mistake of reading.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "../../../tests/reference/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::process::Command;
use watchpost_exchange::extract::Extractor;

const REPORTS: &[&str] = &["oceanlotus", "dukes", "mustang_panda"];

/// The bar Watchpost's extractor must meet on the pooled labels (micro-averaged).
const MIN_PRECISION: f64 = 0.97;
const MIN_RECALL: f64 = 0.97;

type Set = BTreeSet<(String, String)>;

fn labels(name: &str) -> Set {
    let path = support::repo().join(format!("tests/data/reports/{name}.labels.tsv"));
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn report(name: &str) -> std::path::PathBuf {
    support::repo().join(format!("tests/data/reports/{name}-README.adoc"))
}

fn ours(name: &str) -> Set {
    let text = std::fs::read_to_string(report(name)).unwrap();
    Extractor::get()
        .extract(&text)
        .into_iter()
        .map(|i| (i.kind.name().to_owned(), i.value))
        .collect()
}

fn reference(name: &str) -> Set {
    let out = Command::new(support::python())
        .arg(support::repo().join("tests/reference/ioc_extract.py"))
        .arg(report(name))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ioc-finder failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[derive(Default, Debug)]
struct Score {
    true_positives: usize,
    false_positives: Vec<(String, String)>,
    false_negatives: Vec<(String, String)>,
}

impl Score {
    fn add(&mut self, labels: &Set, predicted: &Set, kinds: &dyn Fn(&str) -> bool) {
        let hosts: BTreeSet<String> = labels
            .iter()
            .filter(|(k, _)| k == "url")
            .filter_map(|(_, v)| v.split("://").nth(1))
            .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or("").to_owned())
            .collect();
        for p in predicted.iter().filter(|(k, _)| kinds(k)) {
            if labels.contains(p) {
                self.true_positives += 1;
            } else if !(p.0 == "domain" && hosts.contains(&p.1)) {
                self.false_positives.push(p.clone());
            }
        }
        for l in labels.iter().filter(|(k, _)| kinds(k)) {
            if !predicted.contains(l) {
                self.false_negatives.push(l.clone());
            }
        }
    }

    fn precision(&self) -> f64 {
        self.true_positives as f64 / (self.true_positives + self.false_positives.len()) as f64
    }

    fn recall(&self) -> f64 {
        self.true_positives as f64 / (self.true_positives + self.false_negatives.len()) as f64
    }
}

#[test]
fn precision_and_recall_against_hand_labels_and_ioc_finder() {
    let shared = |k: &str| k != "attack-technique";
    let all = |_: &str| true;
    let (mut ours_shared, mut ours_all, mut theirs) =
        (Score::default(), Score::default(), Score::default());
    for name in REPORTS {
        let labels = labels(name);
        let ours = ours(name);
        ours_shared.add(&labels, &ours, &shared);
        ours_all.add(&labels, &ours, &all);
        theirs.add(&labels, &reference(name), &shared);
    }
    println!(
        "watchpost (shared kinds): precision {:.3} recall {:.3} (tp {}, fp {:?}, fn {:?})",
        ours_shared.precision(),
        ours_shared.recall(),
        ours_shared.true_positives,
        ours_shared.false_positives,
        ours_shared.false_negatives
    );
    println!(
        "watchpost (with ATT&CK): precision {:.3} recall {:.3} (tp {})",
        ours_all.precision(),
        ours_all.recall(),
        ours_all.true_positives
    );
    println!(
        "ioc-finder (shared kinds): precision {:.3} recall {:.3} (tp {}, fp {:?}, fn {:?})",
        theirs.precision(),
        theirs.recall(),
        theirs.true_positives,
        theirs.false_positives,
        theirs.false_negatives
    );
    assert!(ours_all.precision() >= MIN_PRECISION, "{ours_all:?}");
    assert!(ours_all.recall() >= MIN_RECALL, "{ours_all:?}");
}

/// A reader of `total` bytes of Vietnamese prose with defanged IoCs, made as it is read, so the
/// test's own memory stays small.
struct Prose {
    left: usize,
    at: usize,
}

const PARAGRAPH: &str =
    "Chiến dịch nhắm vào cơ quan nhà nước dùng máy chủ hxxp://cdn-update[.]vn/tai-lieu \
và địa chỉ 103.56.53[.]120; mã băm 2194271c7991d60ae82436129d7f25c0a689050a. Rà soát nhật ký.\n";

impl std::io::Read for Prose {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let piece = &PARAGRAPH.as_bytes()[self.at..];
        let n = piece.len().min(buf.len()).min(self.left);
        buf[..n].copy_from_slice(&piece[..n]);
        self.at = (self.at + n) % PARAGRAPH.len();
        self.left -= n;
        Ok(n)
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A 200 MB report in bounded memory (the "200 MB text report never panics"). The
/// crate is built optimised even in test builds (root Cargo.toml), so this takes seconds.
#[test]
fn two_hundred_megabytes_in_bounded_memory() {
    let total = 200 << 20;
    let paragraphs = total / PARAGRAPH.len();
    let start = std::time::Instant::now();
    let reader = std::io::BufReader::new(Prose { left: total, at: 0 });
    let mut count = 0u64;
    let summary = Extractor::get()
        .extract_reader(reader, |_| count += 1)
        .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "200 MB: {} IoCs in {seconds:.2} s = {:.0} MB/s, peak RSS {:?} KiB",
        summary.iocs,
        200.0 / seconds,
        peak_rss_kib()
    );
    assert_eq!(summary.bytes, total as u64);
    // Three IoCs per whole paragraph; the last, cut short, may hold fewer.
    assert!(summary.iocs >= 3 * paragraphs as u64 && summary.iocs <= 3 * paragraphs as u64 + 3);
    assert!(
        peak_rss_kib().unwrap_or(0) < 128 * 1024,
        "peak RSS {:?} KiB",
        peak_rss_kib()
    );
}

/// Every IoC's character offset and length pick out, in the report, the text its byte offset
/// starts; refanged and lower-cased, that text is the value (hashes, domains, addresses) or
/// starts it (URLs keep their path's case).
#[test]
fn offsets_point_at_the_ioc_in_the_text() {
    for name in REPORTS {
        let text = std::fs::read_to_string(report(name)).unwrap();
        let chars: Vec<char> = text.chars().collect();
        for ioc in Extractor::get().extract(&text) {
            let by_chars: String = chars[ioc.offset..ioc.offset + ioc.len].iter().collect();
            assert!(text[ioc.byte_offset..].starts_with(&by_chars), "{ioc:?}");
            let written = watchpost_exchange::extract::refang(&by_chars).to_ascii_lowercase();
            assert_eq!(written, ioc.value.to_ascii_lowercase(), "{name}: {ioc:?}");
        }
    }
}
