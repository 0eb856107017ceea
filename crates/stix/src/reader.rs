//! A streaming reader of STIX content: a bundle (or any envelope with an `objects` list), a
//! single object, a JSON array of objects, or JSON lines — told apart by looking, not by the
//! file name.
//!
//! Memory stays bounded by the largest single object, whatever the size of the file: the
//! reader finds where each element of `objects` begins and ends with a byte scanner that only
//! tracks strings and bracket depth (jumping through string bodies with `memchr`), copies that
//! element into a reused buffer, and parses just that slice. A consequence we want: an element
//! that is not valid JSON is reported with its index and line and the next element is read
//! normally. Only damage to the structure around the elements (a truncated file, a `]` where a
//! `}` belongs) ends the stream, after everything before it has been delivered.

use memchr::{memchr2, memchr_iter, memrchr};
use serde_json::Value;
use std::fmt;
use std::io::{self, Read};

/// The largest single object read by default: 64 MiB. STIX objects are kilobytes; anything
/// near this size is an attack or an accident, and keeping it whole would make memory depend
/// on the input.
pub const DEFAULT_MAX_OBJECT_BYTES: usize = 64 << 20;

const CHUNK: usize = 256 << 10;

/// Where in the input an entry was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// The whole input is this one object.
    Document,
    /// A top-level value starting on this line of a JSON-lines input.
    Line(u64),
    /// Element `i` of a top-level JSON array.
    Item(usize),
    /// Element `i` of a bundle's `objects`.
    BundleObject(usize),
    /// A bundle's own properties (`type`, `id`…), with its `objects` emptied; reported after
    /// its objects.
    Bundle,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Document => Ok(()),
            Location::Line(n) => write!(f, "line {n}"),
            Location::Item(i) => write!(f, "[{i}]"),
            Location::BundleObject(i) => write!(f, "objects[{i}]"),
            Location::Bundle => f.write_str("bundle"),
        }
    }
}

impl Location {
    /// Prefixes a path inside the entry with the entry's place: `objects[3].valid_until`.
    pub fn qualify(&self, inner: &str) -> String {
        match (self, inner.is_empty()) {
            (Location::Document | Location::Bundle, _) => inner.to_string(),
            (loc, true) => loc.to_string(),
            (Location::Line(_), false) => format!("{self}: {inner}"),
            (_, false) if inner.starts_with('[') => format!("{self}{inner}"),
            (_, false) => format!("{self}.{inner}"),
        }
    }
}

/// A JSON syntax error, with its absolute line and column in the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    /// 1-based line.
    pub line: u64,
    /// 1-based byte column.
    pub column: u64,
    /// What the parser expected.
    pub message: String,
}

/// One value read from the input.
#[derive(Debug)]
pub struct Entry {
    /// Where it was.
    pub location: Location,
    /// The line it starts on.
    pub line: u64,
    /// The parsed value, or why this element is not JSON.
    pub value: Result<Value, SyntaxError>,
}

/// Why reading had to stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The input could not be read.
    #[error("cannot read the input: {0}")]
    Io(#[from] io::Error),
    /// The structure around the objects is broken; nothing after this point can be trusted.
    #[error("{0}")]
    Syntax(SyntaxError),
    /// The input ended inside a value.
    #[error("the input ends inside {what} that starts on line {line}; the file is truncated")]
    Truncated {
        /// The unfinished thing.
        what: String,
        /// Its first line.
        line: u64,
    },
    /// The input holds no JSON value at all.
    #[error("the input is empty")]
    Empty,
}

enum State {
    Start,
    TopArray { index: usize },
    TopKeys,
    BundleObjects { index: usize },
    Done,
}

/// Reads STIX entries one at a time; see the [module documentation](self).
pub struct Reader<R> {
    input: Input<R>,
    state: State,
    max_object: usize,
    /// The bytes of the current top-level object, with the elements of `objects` left out.
    outer: Vec<u8>,
    outer_line: u64,
    outer_is_envelope: bool,
    scratch: Vec<u8>,
    values_seen: u64,
}

impl<R: Read> Reader<R> {
    /// A reader over `source` (wrap files in nothing: the reader buffers itself).
    pub fn new(source: R) -> Self {
        Reader {
            input: Input::new(source),
            state: State::Start,
            max_object: DEFAULT_MAX_OBJECT_BYTES,
            outer: Vec::new(),
            outer_line: 1,
            outer_is_envelope: false,
            scratch: Vec::new(),
            values_seen: 0,
        }
    }

    /// Sets the size above which one object is reported as too large instead of parsed.
    pub fn max_object_bytes(mut self, max: usize) -> Self {
        self.max_object = max;
        self
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.input.offset()
    }

    fn step(&mut self) -> Result<Option<Entry>, ReadError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Start => {
                    if let Some(entry) = self.start()? {
                        return Ok(Some(entry));
                    }
                }
                State::TopArray { index } => {
                    match self.next_element(b']', index, "the top-level array")? {
                        Some(entry) => {
                            self.state = State::TopArray { index: index + 1 };
                            return Ok(Some(entry.at(Location::Item(index))));
                        }
                        None => self.state = State::Start,
                    }
                }
                State::BundleObjects { index } => {
                    match self.next_element(b']', index, "the objects list")? {
                        Some(entry) => {
                            self.state = State::BundleObjects { index: index + 1 };
                            return Ok(Some(entry.at(Location::BundleObject(index))));
                        }
                        None => {
                            self.outer.extend_from_slice(b"[]");
                            self.state = State::TopKeys;
                            self.after_member()?;
                        }
                    }
                }
                State::TopKeys => {
                    if let Some(entry) = self.top_key()? {
                        return Ok(Some(entry));
                    }
                }
            }
        }
    }

    /// Begins the next top-level value, or ends the stream.
    fn start(&mut self) -> Result<Option<Entry>, ReadError> {
        match self.input.skip_ws()? {
            None if self.values_seen == 0 => Err(ReadError::Empty),
            None => {
                self.state = State::Done;
                Ok(None)
            }
            Some(b'[') if self.values_seen == 0 => {
                self.input.bump();
                self.values_seen += 1;
                self.state = State::TopArray { index: 0 };
                Ok(None)
            }
            Some(b'{') => {
                self.input.bump();
                self.values_seen += 1;
                self.outer.clear();
                self.outer.push(b'{');
                self.outer_line = self.input.line;
                self.outer_is_envelope = false;
                self.state = State::TopKeys;
                if self.input.skip_ws()? == Some(b'}') {
                    return self.finish_top();
                }
                Ok(None)
            }
            Some(other) => {
                self.state = State::Done;
                Err(self.syntax(format!(
                    "expected a STIX object, a bundle, a JSON array or JSON lines, found `{}`",
                    other as char
                )))
            }
        }
    }

    /// Reads one member of the top-level object; streams `objects` when it is a list.
    fn top_key(&mut self) -> Result<Option<Entry>, ReadError> {
        if self.input.skip_ws()? == Some(b'}') {
            return self.finish_top();
        }
        let key_start = self.outer.len();
        if self.input.skip_ws()? != Some(b'"') {
            return Err(self.fatal("expected a property name in double quotes"));
        }
        self.scan_into_outer("a property name")?;
        let is_objects = &self.outer[key_start..] == b"\"objects\"";
        if self.input.skip_ws()? != Some(b':') {
            return Err(self.fatal("expected `:` after the property name"));
        }
        self.input.bump();
        self.outer.push(b':');
        if is_objects && self.input.skip_ws()? == Some(b'[') {
            self.input.bump();
            self.outer_is_envelope = true;
            self.state = State::BundleObjects { index: 0 };
            return Ok(None);
        }
        self.input.skip_ws()?;
        self.scan_into_outer("a property value")?;
        self.after_member()?;
        Ok(None)
    }

    fn scan_into_outer(&mut self, what: &str) -> Result<(), ReadError> {
        let line = self.input.line;
        let mut outer = std::mem::take(&mut self.outer);
        let result = self.input.scan_value(&mut outer, usize::MAX);
        self.outer = outer;
        self.scan_result(result, what, line).map(|_| ())
    }

    /// After a member of the top-level object: a comma, or the closing brace (left unread).
    fn after_member(&mut self) -> Result<(), ReadError> {
        match self.input.skip_ws()? {
            Some(b',') => {
                self.input.bump();
                self.outer.push(b',');
                Ok(())
            }
            Some(b'}') => Ok(()),
            None => Err(ReadError::Truncated {
                what: "the top-level object".into(),
                line: self.outer_line,
            }),
            Some(_) => {
                Err(self.fatal("expected `,` or `}` after a property of the top-level object"))
            }
        }
    }

    /// The top-level object is complete: emit it (a single object) or its envelope.
    fn finish_top(&mut self) -> Result<Option<Entry>, ReadError> {
        self.input.bump();
        self.outer.push(b'}');
        let line = self.outer_line;
        let value = parse(&self.outer, line, 1);
        let location = if self.outer_is_envelope {
            Location::Bundle
        } else if self.values_seen == 1 && self.input.skip_ws()?.is_none() {
            Location::Document
        } else {
            Location::Line(line)
        };
        self.state = State::Start;
        Ok(Some(Entry {
            location,
            line,
            value,
        }))
    }

    /// The next element of a list whose `[` was consumed, or `None` at its `]`.
    fn next_element(
        &mut self,
        close: u8,
        index: usize,
        list: &str,
    ) -> Result<Option<Entry>, ReadError> {
        let mut next = self.input.skip_ws()?;
        if index > 0 {
            match next {
                Some(b',') => {
                    self.input.bump();
                    next = self.input.skip_ws()?;
                }
                Some(c) if c == close => {}
                None => {}
                Some(_) => {
                    return Err(self.fatal(&format!(
                        "expected `,` or `]` after element {} of {list}",
                        index - 1
                    )))
                }
            }
        }
        match next {
            None => Err(ReadError::Truncated {
                what: list.to_string(),
                line: self.outer_line,
            }),
            Some(c) if c == close => {
                self.input.bump();
                Ok(None)
            }
            Some(_) => {
                let line = self.input.line;
                let column = self.input.column();
                self.scratch.clear();
                let mut scratch = std::mem::take(&mut self.scratch);
                let scanned = self.input.scan_value(&mut scratch, self.max_object);
                let size =
                    self.scan_result(scanned, &format!("element {index} of {list}"), line)?;
                let value = if size > self.max_object {
                    Err(SyntaxError {
                        line,
                        column,
                        message: format!(
                            "this object is {size} bytes, more than the limit of {} bytes for one object",
                            self.max_object
                        ),
                    })
                } else {
                    parse(&scratch, line, column)
                };
                self.scratch = scratch;
                Ok(Some(Entry {
                    location: Location::Document,
                    line,
                    value,
                }))
            }
        }
    }

    fn scan_result(
        &mut self,
        r: Result<usize, ScanError>,
        what: &str,
        line: u64,
    ) -> Result<usize, ReadError> {
        match r {
            Ok(n) => Ok(n),
            Err(ScanError::Io(e)) => Err(ReadError::Io(e)),
            Err(ScanError::Eof) => {
                self.state = State::Done;
                Err(ReadError::Truncated {
                    what: what.to_string(),
                    line,
                })
            }
            Err(ScanError::Mismatch(found)) => Err(self.fatal(&format!(
                "`{}` does not close the bracket opened before it",
                found as char
            ))),
        }
    }

    fn fatal(&mut self, message: &str) -> ReadError {
        self.state = State::Done;
        self.syntax(message.to_string())
    }

    fn syntax(&self, message: String) -> ReadError {
        ReadError::Syntax(SyntaxError {
            line: self.input.line,
            column: self.input.column(),
            message,
        })
    }
}

impl Entry {
    fn at(mut self, location: Location) -> Self {
        self.location = location;
        self
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<Entry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => None,
            Err(e) => {
                self.state = State::Done;
                Some(Err(e))
            }
        }
    }
}

/// Parses one value, placing serde_json's relative position in the input.
fn parse(bytes: &[u8], line: u64, column: u64) -> Result<Value, SyntaxError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let (rel_line, rel_col) = (e.line() as u64, e.column() as u64);
        let message = e.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        SyntaxError {
            line: line + rel_line.saturating_sub(1),
            column: if rel_line <= 1 {
                column + rel_col.saturating_sub(1)
            } else {
                rel_col
            },
            message,
        }
    })
}

enum ScanError {
    Io(io::Error),
    Eof,
    Mismatch(u8),
}

/// A buffered byte source that counts lines.
struct Input<R> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Bytes consumed before `buf[0]`.
    base: u64,
    line: u64,
    line_start: u64,
}

impl<R: Read> Input<R> {
    fn new(src: R) -> Self {
        Input {
            src,
            buf: vec![0; CHUNK],
            pos: 0,
            len: 0,
            base: 0,
            line: 1,
            line_start: 0,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn column(&self) -> u64 {
        self.offset() - self.line_start + 1
    }

    /// Refills an exhausted buffer; false at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        debug_assert_eq!(self.pos, self.len);
        self.base += self.len as u64;
        self.pos = 0;
        self.len = 0;
        loop {
            match self.src.read(&mut self.buf) {
                Ok(n) => {
                    self.len = n;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Consumes the byte that `skip_ws` just returned.
    fn bump(&mut self) {
        self.pos += 1;
    }

    /// Skips whitespace; returns the next byte without consuming it.
    fn skip_ws(&mut self) -> io::Result<Option<u8>> {
        loop {
            if self.pos == self.len && !self.fill()? {
                return Ok(None);
            }
            let b = self.buf[self.pos];
            match b {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.offset();
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                // A byte-order mark at the start of a file is whitespace to us.
                0xEF if self.offset() == 0
                    && self.len >= 3
                    && self.buf[..3] == [0xEF, 0xBB, 0xBF] =>
                {
                    self.pos += 3
                }
                _ => return Ok(Some(b)),
            }
        }
    }

    /// Copies one JSON value starting at the current byte into `out` (up to `max` bytes; the
    /// rest is scanned but not kept) and returns its length.
    fn scan_value(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, ScanError> {
        let mut stack: Vec<u8> = Vec::new();
        let mut in_str = false;
        let mut escaped = false;
        let mut started = false;
        let mut total = 0usize;
        loop {
            if self.pos == self.len && !self.fill().map_err(ScanError::Io)? {
                // A scalar may end at the end of the input; nothing else may.
                return if started && !in_str && stack.is_empty() {
                    Ok(total)
                } else {
                    Err(ScanError::Eof)
                };
            }
            let chunk = &self.buf[self.pos..self.len];
            let mut i = 0;
            let mut done = false;
            let mut mismatch = None;
            while i < chunk.len() {
                if in_str {
                    if escaped {
                        escaped = false;
                        i += 1;
                        continue;
                    }
                    match memchr2(b'"', b'\\', &chunk[i..]) {
                        None => i = chunk.len(),
                        Some(k) => {
                            i += k + 1;
                            if chunk[i - 1] == b'\\' {
                                escaped = true;
                            } else {
                                in_str = false;
                                if stack.is_empty() {
                                    done = true;
                                    break;
                                }
                            }
                        }
                    }
                    continue;
                }
                let b = chunk[i];
                match b {
                    b'"' => {
                        in_str = true;
                        started = true;
                    }
                    b'{' => stack.push(b'}'),
                    b'[' => stack.push(b']'),
                    b'}' | b']' => match stack.pop() {
                        Some(expected) if expected == b => {
                            if stack.is_empty() {
                                i += 1;
                                done = true;
                                break;
                            }
                        }
                        Some(_) => {
                            mismatch = Some(b);
                            break;
                        }
                        // The end of a scalar inside the enclosing list.
                        None => {
                            done = true;
                            break;
                        }
                    },
                    b',' | b' ' | b'\t' | b'\r' | b'\n' if stack.is_empty() && started => {
                        done = true;
                        break;
                    }
                    _ => started = true,
                }
                i += 1;
            }
            let taken = &chunk[..i];
            if total < max {
                let keep = taken.len().min(max - total);
                out.extend_from_slice(&taken[..keep]);
            }
            total += taken.len();
            let newlines = memchr_iter(b'\n', taken).count();
            if newlines > 0 {
                self.line += newlines as u64;
                if let Some(k) = memrchr(b'\n', taken) {
                    self.line_start = self.base + (self.pos + k + 1) as u64;
                }
            }
            self.pos += i;
            if let Some(b) = mismatch {
                return Err(ScanError::Mismatch(b));
            }
            if done {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = Result<(String, Result<Value, String>), String>;

    fn read(input: &str) -> Vec<Read> {
        Reader::new(input.as_bytes())
            .map(|r| {
                r.map(|e| (e.location.to_string(), e.value.map_err(|s| s.to_string())))
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    #[test]
    fn streams_bundle_objects_then_the_bundle() {
        let got = read(r#"{"type":"bundle","objects":[{"a":1}, {"b":"]}\""}],"id":"bundle--x"}"#);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].as_ref().unwrap().0, "objects[0]");
        assert_eq!(got[1].as_ref().unwrap().1.as_ref().unwrap()["b"], "]}\"");
        let bundle = got[2].as_ref().unwrap();
        assert_eq!(bundle.0, "bundle");
        assert_eq!(bundle.1.as_ref().unwrap()["objects"], serde_json::json!([]));
    }

    #[test]
    fn a_bad_element_does_not_stop_the_stream() {
        let got = read("{\"objects\":[{\"a\":1},\n{\"a\": tru},\n{\"a\":3}]}");
        let err = got[1].as_ref().unwrap().1.as_ref().unwrap_err();
        assert!(err.starts_with("line 2, column 10:"), "{err}");
        assert_eq!(got[2].as_ref().unwrap().1.as_ref().unwrap()["a"], 3);
    }

    #[test]
    fn tells_documents_lines_and_arrays_apart() {
        assert_eq!(read("{\"a\":1}\n").len(), 1);
        assert_eq!(read("{\"a\":1}")[0].as_ref().unwrap().0, "");
        let lines = read("{\"a\":1}\n{\"a\":2}\n");
        assert_eq!(lines[0].as_ref().unwrap().0, "line 1");
        assert_eq!(lines[1].as_ref().unwrap().0, "line 2");
        assert_eq!(read("[{\"a\":1}, 5]")[1].as_ref().unwrap().0, "[1]");
    }

    #[test]
    fn truncation_is_reported_after_the_good_objects() {
        let got = read("{\"objects\":[{\"a\":1},{\"a\":");
        assert!(got[0].is_ok());
        assert!(
            got[1].as_ref().unwrap_err().contains("truncated"),
            "{got:?}"
        );
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn oversized_objects_are_skipped_with_a_reason() {
        let big = format!(
            "{{\"objects\":[{{\"d\":\"{}\"}},{{\"a\":1}}]}}",
            "x".repeat(1000)
        );
        let got: Vec<_> = Reader::new(big.as_bytes()).max_object_bytes(100).collect();
        let first = got[0].as_ref().unwrap().value.as_ref().unwrap_err();
        assert!(first.message.contains("more than the limit"), "{first}");
        assert!(got[1].as_ref().unwrap().value.is_ok());
    }

    #[test]
    fn empty_and_garbage_inputs_are_errors() {
        assert_eq!(read("  \n").len(), 1);
        assert!(read("  \n")[0].is_err());
        assert!(read("hello")[0]
            .as_ref()
            .unwrap_err()
            .contains("expected a STIX object"));
        assert!(read("{\"objects\":[{\"a\":1]}]}")[0].is_err());
    }
}
