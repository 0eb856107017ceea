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
}

/// A boxed decoder, so a caller can choose the format at run time.
impl<D: Decoder + ?Sized> Decoder for Box<D> {
    fn decode(&mut self, line: &str) -> Result<Option<Event>, String> {
        (**self).decode(line)
    }
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
        if let Some(out) = &mut self.quarantine {
            let text = String::from_utf8_lossy(&self.buf[..self.buf.len().min(QUARANTINE_TEXT)]);
            let record = json!({"source": self.source, "line": self.counts.lines, "reason": reason, "text": text});
            writeln!(out, "{record}")?;
        }
        Ok(())
    }

    /// The next event with its line number; `None` at the end of the input. An I/O error ends
    /// the stream; malformed lines do not.
    pub fn next_event(&mut self) -> io::Result<Option<(u64, Event)>> {
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
            let decoded = match std::str::from_utf8(&self.buf) {
                Ok(line) if line.trim().is_empty() => Ok(None),
                Ok(line) => self.decoder.decode(line),
                Err(e) => Err(format!(
                    "the line is not UTF-8 text (byte {})",
                    e.valid_up_to() + 1
                )),
            };
            match decoded {
                Ok(Some(event)) => {
                    self.counts.events += 1;
                    return Ok(Some((self.counts.lines, event)));
                }
                Ok(None) => self.counts.skipped += 1,
                Err(reason) => self.reject(reason)?,
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
