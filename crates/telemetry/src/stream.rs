//! Lines in, events out: a [`Decoder`] applied to every line of a reader, with every malformed
//! line counted and quarantined (its source, number, reason and text, as a JSON line) while the
//! stream goes on.

use crate::Event;
use serde_json::json;
use std::io::{self, BufRead, Write};

/// Turns one line into an event.
pub trait Decoder {
    /// Decodes a line: `Ok(None)` for a line that is not an event (a header, a statistics
    /// record), `Err` with the reason for a malformed one.
    fn decode(&mut self, line: &str) -> Result<Option<Event>, String>;

    /// The object paths whose every value [`Decoder::probe`] finds, written as
    /// `type:key.key[*]` (keys unquoted); empty for a decoder without a fast path.
    fn probe_paths(&self) -> &'static [&'static str] {
        &[]
    }

    /// The fast path: finds, without building the event, the values the event of `line` shows
    /// at the wanted paths (`wanted[i]` for `probe_paths()[i]`), and hands each to `found`
    /// with its path's index. [`Probed::Event`] promises that [`Decoder::decode`] gives an
    /// event with exactly those values there; [`Probed::Decode`] asks the caller to decode
    /// the line instead (a malformed line, or one the fast path does not read).
    fn probe(
        &mut self,
        line: &str,
        wanted: &[bool],
        found: &mut dyn FnMut(usize, Atom<'_>),
    ) -> Probed {
        let _ = (line, wanted, found);
        Probed::Decode
    }
}

/// A value found by [`Decoder::probe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom<'a> {
    /// Text.
    Str(&'a str),
    /// A non-negative integer.
    Int(u64),
}

/// What [`Decoder::probe`] made of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probed {
    /// An event; its values at the wanted paths were handed over.
    Event,
    /// Not an event (a statistics record).
    NotEvent,
    /// Decode the line with [`Decoder::decode`].
    Decode,
}

/// A boxed decoder, so a caller can choose the format at run time.
impl<D: Decoder + ?Sized> Decoder for Box<D> {
    fn decode(&mut self, line: &str) -> Result<Option<Event>, String> {
        (**self).decode(line)
    }

    fn probe_paths(&self) -> &'static [&'static str] {
        (**self).probe_paths()
    }

    fn probe(
        &mut self,
        line: &str,
        wanted: &[bool],
        found: &mut dyn FnMut(usize, Atom<'_>),
    ) -> Probed {
        (**self).probe(line, wanted, found)
    }
}

/// A line read through the fast path ([`Stream::next_probed`]).
#[derive(Debug)]
pub enum Line<'s> {
    /// An event whose values were probed; its text, to decode if it may match.
    Probed {
        /// Its line number.
        number: u64,
        /// Its text, UTF-8 (left as bytes: only the few lines that may match are read again).
        text: &'s [u8],
    },
    /// An event the decoder had to build.
    Decoded(u64, Event),
}

/// What a stream has read so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Lines read (blank ones included).
    pub lines: u64,
    /// Events decoded.
    pub events: u64,
    /// Lines that are not events (headers, statistics, blank lines).
    pub skipped: u64,
    /// Malformed lines, quarantined.
    pub malformed: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.lines += other.lines;
        self.events += other.events;
        self.skipped += other.skipped;
        self.malformed += other.malformed;
    }
}

/// The longest line read whole; longer ones are quarantined (their first bytes kept) and
/// skipped to the next newline, so one runaway line cannot exhaust memory.
pub const MAX_LINE: usize = 16 << 20;
/// How much of a malformed line the quarantine keeps.
const QUARANTINE_TEXT: usize = 4096;

fn floor_char_boundary(s: &str, at: usize) -> usize {
    (0..=at.min(s.len()))
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

/// The events of a line-oriented reader.
pub struct Stream<R, D> {
    reader: R,
    decoder: D,
    source: String,
    quarantine: Option<Box<dyn Write + Send>>,
    counts: Counts,
    buf: Vec<u8>,
}

impl<R: BufRead, D: Decoder> Stream<R, D> {
    /// Reads `reader` with `decoder`; `source` names it in the quarantine (a file name).
    pub fn new(reader: R, decoder: D, source: &str) -> Self {
        Stream {
            reader,
            decoder,
            source: source.to_string(),
            quarantine: None,
            counts: Counts::default(),
            buf: Vec::new(),
        }
    }

    /// Writes every malformed line to `out`, one JSON object per line.
    pub fn quarantine(mut self, out: impl Write + Send + 'static) -> Self {
        self.quarantine = Some(Box::new(out));
        self
    }

    /// What has been read so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Reads up to the next newline into `buf`; `Ok(false)` at the end of the input. Returns
    /// whether the line was cut at [`MAX_LINE`].
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        self.buf.clear();
        let mut cut = false;
        let mut any = false;
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                return Ok(any.then_some(cut));
            }
            any = true;
            let (chunk, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            let room = MAX_LINE.saturating_sub(self.buf.len());
            if chunk.len() > room {
                cut = true;
            }
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = done.unwrap_or(available.len());
            self.reader.consume(used);
            if done.is_some() {
                return Ok(Some(cut));
            }
        }
    }

    fn reject(&mut self, reason: String) -> io::Result<()> {
        self.counts.malformed += 1;
        let text = String::from_utf8_lossy(&self.buf[..self.buf.len().min(QUARANTINE_TEXT)]);
        let (line, text) = (self.counts.lines, text.into_owned());
        self.write_quarantine(line, &reason, &text)
    }

    fn write_quarantine(&mut self, line: u64, reason: &str, text: &str) -> io::Result<()> {
        if let Some(out) = &mut self.quarantine {
            let text = &text[..floor_char_boundary(text, QUARANTINE_TEXT)];
            let record =
                json!({"source": self.source, "line": line, "reason": reason, "text": text});
            writeln!(out, "{record}")?;
        }
        Ok(())
    }

    /// The decoder.
    pub fn decoder(&self) -> &D {
        &self.decoder
    }

    /// Reads the next line that has text, and returns its length once it is known to be
    /// UTF-8: `Ok(None)` at the end of the input. Blank lines are counted as skipped; lines
    /// too long or not UTF-8 are quarantined.
    fn next_text(&mut self) -> io::Result<Option<usize>> {
        loop {
            let Some(cut) = self.read_line()? else {
                if let Some(out) = &mut self.quarantine {
                    out.flush()?;
                }
                return Ok(None);
            };
            self.counts.lines += 1;
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
            if cut {
                self.reject(format!("the line is longer than {MAX_LINE} bytes"))?;
                continue;
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                self.counts.skipped += 1;
                continue;
            }
            match std::str::from_utf8(&self.buf) {
                Ok(_) => return Ok(Some(self.buf.len())),
                Err(e) => {
                    let reason =
                        format!("the line is not UTF-8 text (byte {})", e.valid_up_to() + 1);
                    self.reject(reason)?;
                }
            }
        }
    }

    /// Counts the outcome of decoding the current line; the event, if it is one.
    fn count(&mut self, decoded: Result<Option<Event>, String>) -> io::Result<Option<Event>> {
        match decoded {
            Ok(Some(event)) => {
                self.counts.events += 1;
                Ok(Some(event))
            }
            Ok(None) => {
                self.counts.skipped += 1;
                Ok(None)
            }
            Err(reason) => {
                self.reject(reason)?;
                Ok(None)
            }
        }
    }

    /// The next event with its line number; `None` at the end of the input. An I/O error ends
    /// the stream; malformed lines do not.
    pub fn next_event(&mut self) -> io::Result<Option<(u64, Event)>> {
        while self.next_text()?.is_some() {
            let decoded = self
                .decoder
                .decode(std::str::from_utf8(&self.buf).unwrap_or_default());
            if let Some(event) = self.count(decoded)? {
                return Ok(Some((self.counts.lines, event)));
            }
        }
        Ok(None)
    }

    /// The fast path: the next event, probed for the `wanted` paths of
    /// [`Decoder::probe_paths`] (each value handed to `found`), or decoded when the decoder
    /// cannot probe it; `None` at the end of the input.
    pub fn next_probed(
        &mut self,
        wanted: &[bool],
        found: &mut dyn FnMut(usize, Atom<'_>),
    ) -> io::Result<Option<Line<'_>>> {
        while self.next_text()?.is_some() {
            let line = std::str::from_utf8(&self.buf).unwrap_or_default();
            let decoded = match self.decoder.probe(line, wanted, found) {
                Probed::Event => {
                    self.counts.events += 1;
                    return Ok(Some(Line::Probed {
                        number: self.counts.lines,
                        text: &self.buf,
                    }));
                }
                Probed::NotEvent => Ok(None),
                Probed::Decode => self.decoder.decode(line),
            };
            if let Some(event) = self.count(decoded)? {
                return Ok(Some(Line::Decoded(self.counts.lines, event)));
            }
        }
        Ok(None)
    }

    /// Decodes a line [`Stream::next_probed`] returned as probed. The probe promised an
    /// event; should the decoder disagree, the line is quarantined after all.
    pub fn decode_probed(&mut self, number: u64, text: &[u8]) -> io::Result<Option<Event>> {
        let text = String::from_utf8_lossy(text);
        match self.decoder.decode(&text) {
            Ok(Some(event)) => Ok(Some(event)),
            other => {
                self.counts.events -= 1;
                let reason = match other {
                    Err(reason) => reason,
                    _ => "the line is not an event".to_string(),
                };
                self.counts.malformed += 1;
                self.write_quarantine(number, &reason, &text)?;
                Ok(None)
            }
        }
    }
}

impl<R: BufRead, D: Decoder> Iterator for Stream<R, D> {
    type Item = io::Result<(u64, Event)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}
