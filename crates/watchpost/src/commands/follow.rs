//! `watch --follow`: a file read like `tail -F` reads it.
//!
//! [`Follower`] is a [`BufRead`] over a path that never reports the end of the file while it
//! follows: at the end it waits ([`POLL`]) and reads what was appended. It keeps reading
//! through the two ways logs are rotated:
//!
//! - **rename and create** (logrotate's default, Zeek's own rotation): the path now names
//!   another file. The writer may still append to the old file until it reopens the path (a
//!   `postrotate` HUP), so the old file is read until it has been quiet for [`GRACE`], and only
//!   then is the new one opened and read from its start: no line of either is lost or read
//!   twice.
//! - **copytruncate**: the same file, now shorter than what was read. It is read again from its
//!   start. As with `tail -F`, a truncation is only seen if the file is still shorter than what
//!   was read when it is next looked at, and what the writer appended between the copy and the
//!   truncation is lost to every reader.
//!
//! Only complete lines are handed out: the bytes after the last newline are held until their
//! newline arrives, so a line is never cut by a pause of its writer. A line still incomplete
//! when its file is left (rotated away, truncated) is ended with a newline of our own, so that
//! it is reported as the malformed line it is instead of being glued to the next file's first
//! line. A path that does not exist yet is waited for.
//!
//! Every file a path names in turn is a *generation* ([`Follower::generation`]); a caller that
//! numbers lines restarts its count with each one, so line numbers are those of the file.
//!
//! The stop flag ends the following: once it is set, the reader reports the end of the input
//! (within one [`POLL`]) and drops a held incomplete line.

use std::fs::{File, Metadata};
use std::io::{self, BufRead, ErrorKind, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long to wait at the end of the file before looking again. A fifth of a second keeps a
/// match within a blink of its line while costing one `stat` per file five times a second.
pub const POLL: Duration = Duration::from_millis(200);

/// How long a rotated-away file must stay quiet before it is left for the new one. Writers
/// reopen their log within milliseconds of the rotation's signal; a second covers a slow
/// `postrotate` script without delaying the new file's lines by much.
pub const GRACE: Duration = Duration::from_secs(1);

/// The read buffer: large enough that reading a backlog costs few system calls.
const CAPACITY: usize = 1 << 20;

/// Which file a path names: device and inode.
#[cfg(unix)]
fn identity(meta: &Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

/// Without inodes a rotation cannot be told from growth; truncation still can.
#[cfg(not(unix))]
fn identity(_: &Metadata) -> Option<(u64, u64)> {
    None
}

/// The file being read.
struct Current {
    file: File,
    identity: Option<(u64, u64)>,
    /// Bytes read from it.
    offset: u64,
}

/// A file followed through appends, rotation and truncation (see the module comment).
pub struct Follower {
    path: PathBuf,
    current: Option<Current>,
    stop: Arc<AtomicBool>,
    buf: Box<[u8]>,
    /// `buf[pos..ready]` is handed out; `buf[ready..filled]` is an incomplete line, held.
    pos: usize,
    ready: usize,
    filled: usize,
    generation: u64,
    /// When the current file last grew: a rotated-away file is left once it has been quiet.
    last_growth: Instant,
    poll: Duration,
    grace: Duration,
}

impl Follower {
    /// Follows `path` from its start (waiting for it if it does not exist yet) until `stop`
    /// is set.
    pub fn new(path: &Path, stop: Arc<AtomicBool>) -> io::Result<Follower> {
        let mut follower = Follower {
            path: path.to_path_buf(),
            current: None,
            stop,
            buf: vec![0; CAPACITY].into_boxed_slice(),
            pos: 0,
            ready: 0,
            filled: 0,
            generation: 0,
            last_growth: Instant::now(),
            poll: POLL,
            grace: GRACE,
        };
        follower.current = follower.open()?;
        Ok(follower)
    }

    /// Shorter waits, for tests.
    #[cfg(test)]
    fn with_timing(mut self, poll: Duration, grace: Duration) -> Self {
        self.poll = poll;
        self.grace = grace;
        self
    }

    /// Which file of the path the bytes last handed out come from: 0 for the first, one more
    /// at every rotation or truncation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Opens the path, `None` while it does not exist.
    fn open(&self) -> io::Result<Option<Current>> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let identity = identity(&file.metadata()?);
        Ok(Some(Current {
            file,
            identity,
            offset: 0,
        }))
    }

    /// Moves the held incomplete line to the front of the buffer, making room to read.
    fn compact(&mut self) {
        self.buf.copy_within(self.ready..self.filled, 0);
        self.filled -= self.ready;
        self.pos = 0;
        self.ready = 0;
    }

    /// Hands out every complete line read; all of the buffer when one line fills it (the
    /// reader of the lines bounds their length, so it must see them).
    fn expose(&mut self) {
        let unread = &self.buf[self.ready..self.filled];
        self.ready = match unread.iter().rposition(|&b| b == b'\n') {
            Some(i) => self.ready + i + 1,
            None if self.filled == self.buf.len() => self.filled,
            None => self.ready,
        };
    }

    /// Reads what the current file has past `offset`: the number of bytes, 0 at its end.
    fn read_more(&mut self) -> io::Result<usize> {
        let Some(current) = &mut self.current else {
            return Ok(0);
        };
        let n = loop {
            match current.file.read(&mut self.buf[self.filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        current.offset += n as u64;
        self.filled += n;
        if n > 0 {
            self.last_growth = Instant::now();
        }
        Ok(n)
    }

    /// Ends a held incomplete line with a newline of our own, before its file is left;
    /// `true` if there was one (it must be handed out before the next file is read).
    fn end_held_line(&mut self) -> bool {
        if self.ready == self.filled {
            return false;
        }
        if self.filled == self.buf.len() {
            // A full buffer is handed out whole by `expose`, so this cannot happen; should it,
            // the line is handed out as it is rather than overrunning the buffer.
            self.ready = self.filled;
            return true;
        }
        self.buf[self.filled] = b'\n';
        self.filled += 1;
        self.ready = self.filled;
        true
    }

    /// Switches to `next`, the path's new file or its truncated self read from the start.
    fn switch(&mut self, next: Option<Current>) {
        self.current = next;
        self.generation += 1;
        self.last_growth = Instant::now();
    }

    /// Reads the current file again from its start, after a truncation.
    fn rewind(&mut self) -> io::Result<()> {
        if let Some(current) = &mut self.current {
            current.file.rewind()?;
            current.offset = 0;
        }
        self.generation += 1;
        self.last_growth = Instant::now();
        Ok(())
    }

    /// At the end of the current file: looks for a rotation, a truncation or the file's
    /// appearance, and acts on it; waits when there is nothing to do.
    fn at_end(&mut self) -> io::Result<()> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let (Some(current), Some(meta)) = (&self.current, &meta) else {
            if self.current.is_none() && meta.is_some() {
                // The file has appeared: read it from its start.
                self.current = self.open()?;
            } else {
                // Not there yet; or moved away and not created again, while the writer may
                // still append to the file we hold.
                thread::sleep(self.poll);
            }
            return Ok(());
        };
        let rotated = identity(meta) != current.identity;
        let truncated = !rotated && meta.len() < current.offset;
        if rotated && self.last_growth.elapsed() >= self.grace {
            if !self.end_held_line() {
                let next = self.open()?;
                self.switch(next);
            }
        } else if truncated {
            if !self.end_held_line() {
                self.rewind()?;
            }
        } else {
            thread::sleep(self.poll);
        }
        Ok(())
    }
}

impl BufRead for Follower {
    /// Complete lines, blocking until there are some; empty (the end) only once stopped.
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.ready {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(&[]);
            }
            self.compact();
            if self.read_more()? > 0 {
                self.expose();
            } else {
                self.at_end()?;
            }
        }
        Ok(&self.buf[self.pos..self.ready])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.ready);
    }
}

impl Read for Follower {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use super::*;
    use std::io::Write;
    use std::sync::mpsc;

    const FAST: Duration = Duration::from_millis(10);

    /// Follows `path` in a thread that sends each line read with its file's generation.
    fn follow(path: &Path) -> (Arc<AtomicBool>, mpsc::Receiver<(u64, String)>) {
        let stop = Arc::new(AtomicBool::new(false));
        let mut follower = Follower::new(path, stop.clone())
            .unwrap()
            .with_timing(FAST, Duration::from_secs(1));
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            loop {
                line.clear();
                if follower.read_line(&mut line).unwrap() == 0 {
                    return;
                }
                tx.send((follower.generation(), line.clone())).unwrap();
            }
        });
        (stop, rx)
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn next(rx: &mpsc::Receiver<(u64, String)>) -> (u64, String) {
        rx.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    fn nothing(rx: &mpsc::Receiver<(u64, String)>) {
        let got = rx.recv_timeout(Duration::from_millis(150));
        assert!(got.is_err(), "unexpected {got:?}");
    }

    #[test]
    fn appended_lines_are_read_and_a_partial_line_waits_for_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        append(&path, "one\ntw");
        let (stop, rx) = follow(&path);
        assert_eq!(next(&rx), (0, "one\n".into()));
        nothing(&rx);
        append(&path, "o\nthree\n");
        assert_eq!(next(&rx), (0, "two\n".into()));
        assert_eq!(next(&rx), (0, "three\n".into()));
        stop.store(true, Ordering::Relaxed);
        assert!(rx.recv_timeout(Duration::from_secs(5)).is_err());
    }

    #[test]
    fn a_file_created_later_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.log");
        let (_stop, rx) = follow(&path);
        nothing(&rx);
        append(&path, "first\n");
        assert_eq!(next(&rx), (0, "first\n".into()));
    }

    #[test]
    fn a_partial_line_at_rotation_is_completed_from_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        append(&path, "a\nb-begins");
        let (_stop, rx) = follow(&path);
        assert_eq!(next(&rx), (0, "a\n".into()));
        // logrotate: rename, create; the writer still holds the old file and finishes its line
        // there before it reopens the path.
        let old = dir.path().join("eve.json.1");
        std::fs::rename(&path, &old).unwrap();
        append(&path, "c\n");
        append(&old, "-ends\nd\n");
        assert_eq!(next(&rx), (0, "b-begins-ends\n".into()));
        assert_eq!(next(&rx), (0, "d\n".into()));
        assert_eq!(next(&rx), (1, "c\n".into()));
        append(&path, "e\n");
        assert_eq!(next(&rx), (1, "e\n".into()));
        nothing(&rx);
    }

    #[test]
    fn a_line_left_incomplete_by_rotation_is_ended_not_glued_to_the_next_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        append(&path, "a\ncut-sh");
        let (_stop, rx) = follow(&path);
        assert_eq!(next(&rx), (0, "a\n".into()));
        std::fs::rename(&path, dir.path().join("eve.json.1")).unwrap();
        append(&path, "new\n");
        assert_eq!(next(&rx), (0, "cut-sh\n".into()));
        assert_eq!(next(&rx), (1, "new\n".into()));
    }

    #[test]
    fn a_truncated_file_is_read_again_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        append(&path, "a long first line\nanother long line\n");
        let (_stop, rx) = follow(&path);
        assert_eq!(next(&rx).1, "a long first line\n");
        assert_eq!(next(&rx).1, "another long line\n");
        // copytruncate: the content copied elsewhere, the file cut to nothing in place.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        thread::sleep(Duration::from_millis(50));
        append(&path, "x\n");
        assert_eq!(next(&rx), (1, "x\n".into()));
        append(&path, "y\n");
        assert_eq!(next(&rx), (1, "y\n".into()));
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_handed_out_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let long = "x".repeat(CAPACITY * 2 + 10);
        append(&path, &format!("{long}\nshort\n"));
        let (_stop, rx) = follow(&path);
        assert_eq!(next(&rx).1.len(), long.len() + 1);
        assert_eq!(next(&rx).1, "short\n");
    }
}
