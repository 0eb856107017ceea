//! IoC extraction from report text: IP addresses and CIDR blocks, domains, URLs, e-mail
//! addresses, hashes, CVE ids and ATT&CK technique ids, defanged or not.
//!
//! One multi-pattern automaton (`regex_automata::meta::Regex::new_many`) scans the text once;
//! the pattern that matched names the kind, so no capture groups are needed and the scan stays
//! on the lazy DFA. Patterns are ASCII-only and use ASCII word boundaries, so Vietnamese (or any
//! non-ASCII) letters next to an IoC count as a boundary and never slow the scan down. When
//! several patterns could start at the same place, the earlier one wins (leftmost-first): URL
//! before e-mail before address before hash before domain, so `a.b@evil.com` is one e-mail and
//! not a domain `a.b` followed by one.
//!
//! Offsets: [`Ioc::offset`] and [`Ioc::len`] count **characters** (Unicode scalar values) of
//! the text as extracted, as the issue asks; [`Ioc::byte_offset`] is given too, for callers
//! that slice. When text is read from bytes that are not UTF-8, each invalid sequence becomes
//! one U+FFFD and counts as one character.
//!
//! Domains: the last label must be a real TLD (the IANA list of the MISP `tlds` warning list,
//! embedded). File names look like domains (`report.pdf` is not a problem: `pdf` is not a TLD,
//! but `readme.md`, `setup.py`, `archive.zip` are). The rule: a two-label name whose TLD is also
//! a common file extension ([`FILE_EXTENSION_TLDS`]) is taken for a file name unless it was
//! defanged (`evil[.]zip` — the author marked it as an IoC). `files.evil.zip` is a domain.
//!
//! A domain written right after a `/` is dropped: outside a URL that is a path
//! (`/docs/readme.md`) or an antivirus detection name (`Win32/Korplug.MK`, whose `.mk` is a TLD).
//!
//! URLs need a scheme (`http`, `https`, `ftp`, and their defanged `hxxp`, `fxp`); a host with a
//! path but no scheme is extracted as its domain only. The domain inside a URL is not reported
//! separately: the URL is the indicator.
//!
//! Bounded memory: [`Extractor::extract_reader`] reads a stream in chunks of at most
//! [`CHUNK_BYTES`], cut after a newline (or, in a line longer than that, after a space), so a
//! 200 MB report costs one chunk of memory plus the IoCs found.

use std::io::BufRead;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use regex_automata::meta::Regex;
use regex_automata::Input;

/// What an extracted value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum IocKind {
    /// A URL with its scheme.
    Url,
    /// An e-mail address.
    Email,
    /// An IPv4 address.
    Ipv4,
    /// An IPv4 CIDR block (`10.0.0.0/8`).
    Ipv4Cidr,
    /// An IPv6 address.
    Ipv6,
    /// An IPv6 CIDR block.
    Ipv6Cidr,
    /// An MD5 hash (32 hex digits).
    Md5,
    /// A SHA-1 hash (40 hex digits).
    Sha1,
    /// A SHA-256 hash (64 hex digits).
    Sha256,
    /// A SHA-512 hash (128 hex digits).
    Sha512,
    /// A CVE identifier.
    Cve,
    /// A MITRE ATT&CK technique or sub-technique id (`T1055`, `T1055.012`).
    AttackTechnique,
    /// A domain name whose last label is a real TLD.
    Domain,
}

impl IocKind {
    /// The name used in JSON output and in `--map type=` columns.
    pub fn name(self) -> &'static str {
        match self {
            IocKind::Url => "url",
            IocKind::Email => "email",
            IocKind::Ipv4 => "ipv4",
            IocKind::Ipv4Cidr => "ipv4-cidr",
            IocKind::Ipv6 => "ipv6",
            IocKind::Ipv6Cidr => "ipv6-cidr",
            IocKind::Md5 => "md5",
            IocKind::Sha1 => "sha1",
            IocKind::Sha256 => "sha256",
            IocKind::Sha512 => "sha512",
            IocKind::Cve => "cve",
            IocKind::AttackTechnique => "attack-technique",
            IocKind::Domain => "domain",
        }
    }

    /// The STIX pattern comparing an object with `value`, or `None` for kinds that are not
    /// observables (CVE and ATT&CK ids become references, not indicators).
    pub fn pattern(self, value: &str) -> Option<String> {
        let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
        let path = match self {
            IocKind::Url => "url:value",
            IocKind::Email => "email-addr:value",
            IocKind::Ipv4 | IocKind::Ipv4Cidr => "ipv4-addr:value",
            IocKind::Ipv6 | IocKind::Ipv6Cidr => "ipv6-addr:value",
            IocKind::Md5 => "file:hashes.MD5",
            IocKind::Sha1 => "file:hashes.'SHA-1'",
            IocKind::Sha256 => "file:hashes.'SHA-256'",
            IocKind::Sha512 => "file:hashes.'SHA-512'",
            IocKind::Domain => "domain-name:value",
            IocKind::Cve | IocKind::AttackTechnique => return None,
        };
        Some(format!("[{path} = '{quoted}']"))
    }
}

/// One IoC found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ioc {
    /// What it is.
    pub kind: IocKind,
    /// The value refanged (`hxxp` → `http`, `[.]` → `.`) and normalised (lower-case host,
    /// hashes and domains; upper-case CVE ids; canonical IPv6).
    pub value: String,
    /// Where it starts, in characters from the start of the text.
    pub offset: usize,
    /// How long it is in the text as written (defanged form included), in characters.
    pub len: usize,
    /// Where it starts, in bytes of the UTF-8 text.
    pub byte_offset: usize,
    /// Whether the text had it defanged.
    pub defanged: bool,
}

/// Chunk size of [`Extractor::extract_reader`]: large enough that per-chunk overhead vanishes,
/// small enough that a huge report never sits in memory whole.
pub const CHUNK_BYTES: usize = 1 << 20;

/// TLDs that are also common file extensions; see the module documentation for the rule.
pub const FILE_EXTENSION_TLDS: &[&str] = &[
    "zip", "mov", "py", "sh", "md", "ps", "rs", "pl", "cc", "so", "sc", "one", "app", "cab", "exe",
    "js", "bat", "dll", "doc", "cs", "in", "cat", "pm", "mp", "ai", "bz", "gz", "tk", "lnk", "rar",
    "php", "ini", "jar", "iso", "img", "vb", "vbs", "docx", "xls", "zipx", "log", "cfg", "dat",
    "sys", "tmp", "csv", "txt", "xml", "json", "html", "htm", "asp", "aspx", "cpl", "hta", "msi",
    "ocx", "pif", "scr", "ws", "wsf",
];

const TLDS: &str = include_str!("../data/tlds.txt");

// Defanged separators, tried before the plain character so `[.]` is read whole.
const DOT: &str = r"(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\.)";
const AT: &str = r"(?:\[@\]|\(@\)|\[at\]|\(at\)|@)";
const LABEL: &str = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?";
const OCTET: &str = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

fn patterns() -> Vec<(IocKind, String)> {
    let tld = r"(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9]{1,59})";
    let ipv4 = format!(r"{OCTET}(?:{DOT}{OCTET}){{3}}");
    vec![
        (
            IocKind::Url,
            // The body stops at whitespace, quotes, angle brackets, `|` (table cells) and a
            // `[` that does not open a defanged separator (AsciiDoc link text).
            r#"(?i:\b(?:hxxps?|https?|hxxp|fxp|ftps?|sftp)(?:://|\[:\]//|\[://\]|\[:/\]/))(?:\[\.\]|\(\.\)|\[dot\]|\[:\]|\[@\]|[^\s<>"'`\[\]|{}\x{3000}-\x{303f}\x{ff01}-\x{ff0f}])+"#
                .to_owned(),
        ),
        (
            IocKind::Email,
            format!(r"\b[A-Za-z0-9][A-Za-z0-9._%+\-]{{0,63}}{AT}(?:{LABEL}{DOT})+{tld}\b"),
        ),
        (IocKind::Ipv4Cidr, format!(r"\b{ipv4}/(?:3[0-2]|[12]?[0-9])\b")),
        (IocKind::Ipv4, format!(r"\b{ipv4}\b")),
        (
            IocKind::Ipv6,
            r"(?:\b[0-9A-Fa-f]{1,4}|::)(?::{1,2}[0-9A-Fa-f]{0,4}){1,7}(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?".to_owned(),
        ),
        (IocKind::Sha512, r"\b[0-9A-Fa-f]{128}\b".to_owned()),
        (IocKind::Sha256, r"\b[0-9A-Fa-f]{64}\b".to_owned()),
        (IocKind::Sha1, r"\b[0-9A-Fa-f]{40}\b".to_owned()),
        (IocKind::Md5, r"\b[0-9A-Fa-f]{32}\b".to_owned()),
        (IocKind::Cve, r"(?i:\bcve-[0-9]{4}-[0-9]{4,7}\b)".to_owned()),
        (IocKind::AttackTechnique, r"\bT[0-9]{4}(?:\.[0-9]{3})?\b".to_owned()),
        (IocKind::Domain, format!(r"\b(?:{LABEL}{DOT})+{tld}\b")),
    ]
}

/// A compiled extractor: build once, share freely (`Send + Sync`).
///
/// # Example
///
/// ```
/// use watchpost_exchange::extract::{Extractor, IocKind};
///
/// let iocs = Extractor::get().extract("Máy chủ C2: hxxp://evil[.]com/a và 8.8.8.8.");
/// assert_eq!(iocs[0].kind, IocKind::Url);
/// assert_eq!(iocs[0].value, "http://evil.com/a");
/// assert_eq!(iocs[0].offset, 12);
/// assert_eq!(iocs[1].value, "8.8.8.8");
/// ```
#[derive(Debug)]
pub struct Extractor {
    regex: Regex,
    kinds: Vec<IocKind>,
    tlds: std::collections::HashSet<&'static str>,
}

impl Extractor {
    /// The process-wide extractor, compiled on first use.
    pub fn get() -> &'static Extractor {
        static EXTRACTOR: OnceLock<Extractor> = OnceLock::new();
        EXTRACTOR.get_or_init(Extractor::compile)
    }

    fn compile() -> Extractor {
        let patterns = patterns();
        // ASCII word boundaries: a Vietnamese letter beside an IoC is a boundary, and the lazy
        // DFA (which cannot look at Unicode word boundaries) keeps the scan.
        let sources: Vec<String> = patterns
            .iter()
            .map(|(_, p)| p.replace(r"\b", r"(?-u:\b)"))
            .collect();
        // The patterns are constants of this module; a unit test compiles them.
        #[allow(clippy::expect_used)]
        let regex = Regex::new_many(&sources).expect("the extraction patterns compile");
        Extractor {
            regex,
            kinds: patterns.iter().map(|(k, _)| *k).collect(),
            tlds: TLDS.lines().filter(|l| !l.is_empty()).collect(),
        }
    }

    /// Every IoC in `text`, in order of position.
    pub fn extract(&self, text: &str) -> Vec<Ioc> {
        let mut out = Vec::new();
        self.extract_into(text, 0, &mut out);
        out
    }

    /// Finds the IoCs of `text` and pushes them with offsets shifted by `base_chars`; returns
    /// the number of characters in `text`.
    fn extract_into(&self, text: &str, base_chars: usize, out: &mut Vec<Ioc>) -> usize {
        let mut counted_bytes = 0;
        let mut counted_chars = base_chars;
        let mut found = Vec::new();
        self.candidates(text, 0..text.len(), true, &mut found);
        for (kind, start, raw) in found {
            counted_chars += text[counted_bytes..start].chars().count();
            counted_bytes = start;
            let Some((kind, value)) = self.normalise(kind, raw) else {
                continue;
            };
            out.push(Ioc {
                kind,
                defanged: is_defanged(raw),
                value,
                offset: counted_chars,
                len: raw.chars().count(),
                byte_offset: start,
            });
        }
        counted_chars + text[counted_bytes..].chars().count() - base_chars
    }

    /// The accepted matches in `range` of `text`, in order. A rejected domain-shaped run
    /// (`Win32/Exploit.CVE-2017-11882.BU`) is searched again, for the other kinds only: the
    /// CVE id inside it is real, the `Agent.LT` of `Win32/Exploit.Agent.LT` is not a domain.
    fn candidates<'t>(
        &self,
        text: &'t str,
        range: std::ops::Range<usize>,
        names: bool,
        out: &mut Vec<(IocKind, usize, &'t str)>,
    ) {
        for m in self.regex.find_iter(Input::new(text).range(range)) {
            let kind = self.kinds[m.pattern().as_usize()];
            let is_name = matches!(kind, IocKind::Domain | IocKind::Email);
            if is_name && !names {
                continue;
            }
            match self.accept(kind, text, m.start(), m.end()) {
                Some((raw, start)) => out.push((kind, start, raw)),
                None if is_name && names => {
                    // Start one character in: the automaton's word boundary stops it from
                    // finding the same run again from its middle.
                    let next = text[m.start()..]
                        .chars()
                        .next()
                        .map_or(m.end(), |c| m.start() + c.len_utf8());
                    self.candidates(text, next..m.end(), false, out);
                }
                None => {}
            }
        }
    }

    /// Trims a match to what it means, or rejects it.
    fn accept<'t>(
        &self,
        kind: IocKind,
        text: &'t str,
        start: usize,
        end: usize,
    ) -> Option<(&'t str, usize)> {
        let raw = &text[start..end];
        match kind {
            IocKind::Url => Some((trim_url(raw), start)),
            // `Win32/Korplug.MK` is a detection name and `/docs/readme.md` a path, not domains.
            IocKind::Domain if text[..start].ends_with('/') => None,
            IocKind::Domain | IocKind::Email => {
                self.has_real_tld(kind, raw).then_some((raw, start))
            }
            _ => Some((raw, start)),
        }
    }

    fn has_real_tld(&self, kind: IocKind, raw: &str) -> bool {
        let refanged = refang(raw);
        let host = refanged.rsplit('@').next().unwrap_or(&refanged);
        let labels: Vec<&str> = host.split('.').collect();
        let Some(tld) = labels.last().map(|t| t.to_ascii_lowercase()) else {
            return false;
        };
        if !self.tlds.contains(tld.as_str()) {
            return false;
        }
        let file_like = kind == IocKind::Domain
            && labels.len() == 2
            && !is_defanged(raw)
            && FILE_EXTENSION_TLDS.contains(&tld.as_str());
        !file_like
    }

    fn normalise(&self, kind: IocKind, raw: &str) -> Option<(IocKind, String)> {
        let refanged = refang(raw);
        let value = match kind {
            IocKind::Url => normalise_url(&refanged)?,
            IocKind::Email | IocKind::Domain | IocKind::Md5 | IocKind::Sha1 => {
                refanged.to_ascii_lowercase()
            }
            IocKind::Sha256 | IocKind::Sha512 => refanged.to_ascii_lowercase(),
            IocKind::Cve => refanged.to_ascii_uppercase(),
            IocKind::Ipv4 => refanged.parse::<Ipv4Addr>().ok()?.to_string(),
            IocKind::Ipv4Cidr => refanged,
            IocKind::Ipv6 | IocKind::Ipv6Cidr => return normalise_ipv6(&refanged),
            IocKind::AttackTechnique => refanged,
        };
        Some((kind, value))
    }

    /// Extracts from a stream in bounded memory, calling `found` for every IoC. Bytes that are
    /// not UTF-8 are replaced (one U+FFFD per invalid sequence) and counted in the returned
    /// [`StreamSummary`].
    pub fn extract_reader<R: BufRead>(
        &self,
        mut reader: R,
        mut found: impl FnMut(Ioc),
    ) -> std::io::Result<StreamSummary> {
        let mut summary = StreamSummary::default();
        let mut pending: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 4096);
        let mut iocs = Vec::new();
        loop {
            let buf = reader.fill_buf()?;
            let eof = buf.is_empty();
            let take = buf
                .len()
                .min(CHUNK_BYTES.saturating_sub(pending.len()).max(1));
            pending.extend_from_slice(&buf[..take]);
            reader.consume(take);
            if !eof && pending.len() < CHUNK_BYTES {
                continue;
            }
            let cut = if eof {
                pending.len()
            } else {
                chunk_cut(&pending)
            };
            let chunk: Vec<u8> = pending.drain(..cut).collect();
            summary.bytes += chunk.len() as u64;
            let text = match std::str::from_utf8(&chunk) {
                Ok(text) => std::borrow::Cow::Borrowed(text),
                Err(_) => {
                    summary.invalid_utf8_chunks += 1;
                    String::from_utf8_lossy(&chunk)
                }
            };
            let base = summary.chars as usize;
            summary.chars += self.extract_into(&text, base, &mut iocs) as u64;
            for mut ioc in iocs.drain(..) {
                ioc.byte_offset += (summary.bytes - chunk.len() as u64) as usize;
                summary.iocs += 1;
                found(ioc);
            }
            if eof && pending.is_empty() {
                return Ok(summary);
            }
        }
    }
}

/// What a stream extraction read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamSummary {
    /// Bytes read.
    pub bytes: u64,
    /// Characters read (after replacing invalid UTF-8).
    pub chars: u64,
    /// IoCs found.
    pub iocs: u64,
    /// Chunks that held bytes which are not UTF-8 (each was decoded lossily).
    pub invalid_utf8_chunks: u64,
}

/// Where to cut a full chunk: after its last newline, else after its last space, else at a
/// character boundary — never inside an IoC unless a line is a megabyte without a space.
fn chunk_cut(pending: &[u8]) -> usize {
    let window = &pending[..pending.len().min(CHUNK_BYTES)];
    if let Some(i) = memchr_last(b'\n', window).or_else(|| memchr_last(b' ', window)) {
        return i + 1;
    }
    // Do not split a UTF-8 sequence: back up over continuation bytes.
    let mut cut = window.len();
    while cut > 1 && (window[cut - 1] & 0b1100_0000) == 0b1000_0000 {
        cut -= 1;
    }
    if cut > 1 && window[cut - 1] >= 0xC0 {
        cut -= 1;
    }
    cut.max(1)
}

fn memchr_last(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().rposition(|&b| b == needle)
}

/// Whether the text has a defanged form in it.
fn is_defanged(raw: &str) -> bool {
    raw.contains('[')
        || raw.contains('(')
        || raw.contains('{')
        || raw
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case("hxxp") || s[..3].eq_ignore_ascii_case("fxp"))
}

/// Undoes the usual defanging: `hxxp`, `fxp`, `[.]`, `(.)`, `{.}`, `[dot]`, `[@]`, `[at]`,
/// `[:]`, `[://]`.
pub fn refang(raw: &str) -> String {
    let mut s = raw.to_owned();
    for (from, to) in [
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
        ("[@]", "@"),
        ("(@)", "@"),
        ("[at]", "@"),
        ("(at)", "@"),
        ("[://]", "://"),
        ("[:/]/", "://"),
        ("[:]", ":"),
    ] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    let lower = s.get(..5).map(str::to_ascii_lowercase);
    match lower.as_deref() {
        Some(p) if p.starts_with("hxxp") => format!("http{}", &s[4..]),
        Some(p) if p.starts_with("fxp") => format!("ftp{}", &s[3..]),
        _ => s,
    }
}

/// Drops trailing punctuation that belongs to the sentence, and a closing bracket without its
/// opening one.
fn trim_url(raw: &str) -> &str {
    let mut s = raw;
    loop {
        let Some(last) = s.chars().last() else {
            return s;
        };
        let unbalanced = |open: char, close: char| {
            last == close && s.matches(open).count() < s.matches(close).count()
        };
        if matches!(
            last,
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | '>' | '*'
        ) || unbalanced('(', ')')
            || !last.is_ascii() && !last.is_alphanumeric()
        {
            s = &s[..s.len() - last.len_utf8()];
        } else {
            return s;
        }
    }
}

/// Lower-cases the scheme and host of a URL, leaves the rest as written.
fn normalise_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(host_end);
    if host.is_empty() {
        return None;
    }
    Some(format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase(),
        tail
    ))
}

fn normalise_ipv6(raw: &str) -> Option<(IocKind, String)> {
    match raw.split_once('/') {
        Some((addr, prefix)) => {
            let addr: Ipv6Addr = addr.parse().ok()?;
            Some((IocKind::Ipv6Cidr, format!("{addr}/{prefix}")))
        }
        None => Some((IocKind::Ipv6, raw.parse::<Ipv6Addr>().ok()?.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Extracts `text` and compares `(kind, value, offset, len)` with `expected`.
    fn check(text: &str, expected: &[(IocKind, &str, usize, usize)]) {
        let got: Vec<(IocKind, String, usize, usize)> = Extractor::get()
            .extract(text)
            .into_iter()
            .map(|i| (i.kind, i.value, i.offset, i.len))
            .collect();
        let want: Vec<(IocKind, String, usize, usize)> = expected
            .iter()
            .map(|(k, v, o, l)| (*k, v.to_string(), *o, *l))
            .collect();
        assert_eq!(got, want, "in {text:?}");
    }

    use IocKind::*;

    #[test]
    fn plain_forms() {
        check("ip 1.2.3.4 and", &[(Ipv4, "1.2.3.4", 3, 7)]);
        check("net 10.0.0.0/8.", &[(Ipv4Cidr, "10.0.0.0/8", 4, 10)]);
        check("go to evil.com.", &[(Domain, "evil.com", 6, 8)]);
        check("mail bad@Evil.COM now", &[(Email, "bad@evil.com", 5, 12)]);
        check(
            "CVE-2017-11882 and t1055",
            &[(Cve, "CVE-2017-11882", 0, 14)],
        );
        check("T1055.012 then", &[(AttackTechnique, "T1055.012", 0, 9)]);
        check("v6 2001:DB8::1 x", &[(Ipv6, "2001:db8::1", 3, 11)]);
        check(
            "md5 D41D8CD98F00B204E9800998ECF8427E",
            &[(Md5, "d41d8cd98f00b204e9800998ecf8427e", 4, 32)],
        );
    }

    #[test]
    fn defanged_forms_are_refanged() {
        check("hxxp://evil[.]com/x.", &[(Url, "http://evil.com/x", 0, 19)]);
        check(
            "hxxps[:]//a(.)b.org/p",
            &[(Url, "https://a.b.org/p", 0, 21)],
        );
        check("1[.]2[.]3[.]4", &[(Ipv4, "1.2.3.4", 0, 13)]);
        check("x[@]evil[.]vn", &[(Email, "x@evil.vn", 0, 13)]);
        check("evil[.]zip", &[(Domain, "evil.zip", 0, 10)]);
    }

    #[test]
    fn vietnamese_text_keeps_character_offsets() {
        check(
            "Tên miền độc hại: evil.vn, địa chỉ IP 203.0.113.5.",
            &[(Domain, "evil.vn", 18, 7), (Ipv4, "203.0.113.5", 38, 11)],
        );
        check("đường dẫn hxxp://x.vn/ố", &[(Url, "http://x.vn/ố", 10, 13)]);
    }

    #[test]
    fn file_names_are_not_domains() {
        check("ran svchost.exe and report.pdf and readme.md", &[]);
        check("cdn.evil.zip", &[(Domain, "cdn.evil.zip", 0, 12)]);
        check("Win32/Korplug.MK", &[]);
        check("Win32/Exploit.Agent.LT", &[]);
        check(
            "Win32/Exploit.CVE-2017-11882.BU",
            &[(Cve, "CVE-2017-11882", 14, 14)],
        );
    }

    #[test]
    fn asciidoc_links_and_tables() {
        check(
            "see https://a.com/x.pdf[OceanLotus] |`1.2.3.4`|",
            &[
                (Url, "https://a.com/x.pdf", 4, 19),
                (Ipv4, "1.2.3.4", 38, 7),
            ],
        );
    }

    #[test]
    fn near_misses() {
        check("1.2.3.456 010.1.1.1 12:30:45 aa:bb:cc:dd:ee:ff", &[]);
        check("d41d8cd98f00b204e9800998ecf8427e0", &[]);
    }

    #[test]
    fn stream_chunks_agree_with_whole_text() {
        let line = "Máy chủ hxxp://evil[.]com/ố và 8.8.8.8 ";
        let text = line.repeat(60_000);
        let whole = Extractor::get().extract(&text);
        let mut streamed = Vec::new();
        let summary = Extractor::get()
            .extract_reader(std::io::Cursor::new(text.as_bytes()), |i| streamed.push(i))
            .unwrap();
        assert!(text.len() > 2 * CHUNK_BYTES);
        assert_eq!(summary.iocs, 120_000);
        assert_eq!(summary.chars as usize, text.chars().count());
        assert_eq!(whole, streamed);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let bytes = b"ip 1.2.3.4 \xff\xfe then evil.com\n";
        let mut got = Vec::new();
        let summary = Extractor::get()
            .extract_reader(&bytes[..], |i| got.push((i.value, i.offset)))
            .unwrap();
        assert_eq!(summary.invalid_utf8_chunks, 1);
        assert_eq!(
            got,
            vec![("1.2.3.4".to_string(), 3), ("evil.com".to_string(), 19)]
        );
    }
}
