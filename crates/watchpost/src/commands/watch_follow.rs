//! `watch --follow`: every source followed at once, until SIGINT or SIGTERM.
//!
//! Each source is read by its own thread (a [`Follower`], or standard input), which cuts what
//! it reads into chunks of whole lines and sends them, through one bounded channel, to the
//! single matching loop. One loop keeps one matcher, so patterns over several observations
//! still join events of different sources, and the fast path ([`Batcher`] with a [`Plan`] per
//! decoder) is the same as without `--follow`. The loop hands each chunk to its source's
//! [`Stream`] through an [`Inbox`]: the stream sees the end of its input at the end of every
//! chunk, which is always the end of a line, and carries on with the next chunk. A new file of
//! a path (rotation, truncation) gets a new stream and decoder, so its lines are numbered
//! from 1 and a Zeek log's new header is read afresh.

use super::follow::{Follower, POLL};
use super::live::Live;
use super::matching::{Batcher, Plan};
use super::watch::{Report, Source};
use anyhow::{Context, Result};
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use watchpost_pattern::PatternSet;
use watchpost_stix::Timestamp;
use watchpost_telemetry::stream::MAX_LINE;
use watchpost_telemetry::{Counts, Decoder, Stream};

/// Chunks waiting for the matching loop, over all sources. A chunk is at most a read buffer
/// (1 MiB), so this bounds the memory of a backlog while letting readers run ahead a little.
const QUEUE: usize = 8;

/// How long, once stopped, to wait for readers still blocked (standard input does not
/// notice the stop flag) before ending anyway.
const DRAIN: Duration = Duration::from_secs(2);

/// Whole lines of one source, from one file of it.
struct Chunk {
    source: usize,
    generation: u64,
    bytes: Vec<u8>,
}

/// What a source's reading thread reads from: a followed file, or standard input.
trait Tail: BufRead {
    /// Which file of the path the bytes come from (see [`Follower::generation`]).
    fn generation(&self) -> u64;
}

impl Tail for Follower {
    fn generation(&self) -> u64 {
        Follower::generation(self)
    }
}

impl<R: io::Read> Tail for BufReader<R> {
    fn generation(&self) -> u64 {
        0
    }
}

/// Cuts a byte stream into chunks of whole lines; a line longer than a stream accepts is cut
/// to one byte more than [`MAX_LINE`], so the stream still sees that it is too long and
/// quarantines it, while its rest is dropped instead of held.
#[derive(Default)]
struct Lines {
    /// The start of a line whose newline has not come yet.
    carry: Vec<u8>,
}

impl Lines {
    fn hold(&mut self, bytes: &[u8]) {
        let room = (MAX_LINE + 1).saturating_sub(self.carry.len());
        self.carry
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The whole lines `bytes` completes, if any.
    fn push(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        let Some(first) = bytes.iter().position(|&b| b == b'\n') else {
            self.hold(bytes);
            return None;
        };
        // Searching from the end finds the last newline within one line's length.
        let last = bytes.iter().rposition(|&b| b == b'\n').unwrap_or(first);
        self.hold(&bytes[..first]);
        let mut chunk = std::mem::take(&mut self.carry);
        chunk.push(b'\n');
        chunk.extend_from_slice(&bytes[first + 1..=last]);
        self.hold(&bytes[last + 1..]);
        Some(chunk)
    }

    /// What is left: a last line without its newline.
    fn rest(&mut self) -> Option<Vec<u8>> {
        (!self.carry.is_empty()).then(|| std::mem::take(&mut self.carry))
    }
}

/// Reads `reader` to its end (for a follower: until stopped), sending whole lines.
fn pump(source: usize, mut reader: impl Tail, tx: &SyncSender<Chunk>) -> io::Result<()> {
    let mut lines = Lines::default();
    let mut generation = reader.generation();
    let send = |generation: u64, bytes: Vec<u8>| {
        // The loop has ended (an error, or the end of the run): nothing more to read for.
        tx.send(Chunk {
            source,
            generation,
            bytes,
        })
        .is_ok()
    };
    loop {
        // Waits for data; a rotation shows in the generation once the new file is read.
        reader.fill_buf()?;
        let now = reader.generation();
        if now != generation {
            if let Some(rest) = lines.rest() {
                if !send(generation, rest) {
                    return Ok(());
                }
            }
            generation = now;
        }
        let available = reader.fill_buf()?;
        if available.is_empty() {
            if let Some(rest) = lines.rest() {
                send(generation, rest);
            }
            return Ok(());
        }
        let n = available.len();
        let chunk = lines.push(available);
        reader.consume(n);
        if let Some(chunk) = chunk {
            if !send(generation, chunk) {
                return Ok(());
            }
        }
    }
}

/// Starts the thread that reads source `index`.
fn start(
    index: usize,
    source: &Source,
    stop: &Arc<AtomicBool>,
    tx: SyncSender<Chunk>,
) -> Result<()> {
    let name = source.name.clone();
    let run = move |result: io::Result<()>| {
        if let Err(e) = result {
            eprintln!("watchpost: cannot read {name}: {e}");
        }
    };
    if source.path == Path::new("-") {
        let stdin = BufReader::with_capacity(1 << 20, io::stdin());
        thread::spawn(move || run(pump(index, stdin, &tx)));
    } else {
        let follower = Follower::new(&source.path, stop.clone())
            .with_context(|| format!("cannot open {}", source.name))?;
        thread::spawn(move || run(pump(index, follower, &tx)));
    }
    Ok(())
}

/// The chunks the loop hands a stream: the end of its input whenever it has read them all.
struct Inbox {
    next: Rc<RefCell<Option<Vec<u8>>>>,
    bytes: Vec<u8>,
    pos: usize,
}

impl io::Read for Inbox {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Inbox {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.bytes.len() {
            if let Some(bytes) = self.next.borrow_mut().take() {
                self.bytes = bytes;
                self.pos = 0;
            }
        }
        Ok(&self.bytes[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.bytes.len());
    }
}

/// One file of a source, being matched.
struct Fed {
    generation: u64,
    next: Rc<RefCell<Option<Vec<u8>>>>,
    stream: Stream<Inbox, Box<dyn Decoder>>,
    plan: Option<Plan>,
}

impl Fed {
    fn new(set: &PatternSet, source: &Source, generation: u64, quarantine: &File) -> Result<Fed> {
        let next = Rc::new(RefCell::new(None));
        let inbox = Inbox {
            next: next.clone(),
            bytes: Vec::new(),
            pos: 0,
        };
        let stream = Stream::new(inbox, (source.decoder)(), &source.name)
            .quarantine(quarantine.try_clone()?);
        let plan = Plan::new(set, stream.decoder());
        Ok(Fed {
            generation,
            next,
            stream,
            plan,
        })
    }
}

/// Sets the returned flag on SIGINT or SIGTERM (a thread with a small runtime waits for them).
fn stop_on_signal() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot start the signal handler")?;
    // The handlers are installed before this returns, so no signal is missed (or kills the
    // process) once the sources are read.
    let wait = {
        let _guard = rt.enter();
        signals()?
    };
    let flag = stop.clone();
    thread::spawn(move || {
        rt.block_on(wait);
        flag.store(true, Ordering::Relaxed);
    });
    Ok(stop)
}

#[cfg(unix)]
fn signals() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn signals() -> Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Follows every source until stopped, matching as lines come (with the newest set `live`
/// publishes); the counts of every file read.
pub(super) fn run(
    live: &Live,
    sources: Vec<Source>,
    quarantine: &File,
    report: &mut Report<'_>,
) -> Result<Counts> {
    let stop = stop_on_signal()?;
    let (tx, rx) = sync_channel(QUEUE);
    for (index, source) in sources.iter().enumerate() {
        start(index, source, &stop, tx.clone())?;
    }
    drop(tx);
    let (_, first) = live.current();
    let mut fed = sources
        .iter()
        .map(|s| Fed::new(&first.set, s, 0, quarantine))
        .collect::<Result<Vec<_>>>()?;
    let (mut total, mut hits) = (Counts::default(), Vec::new());
    let mut stopped_at = None;
    'sets: loop {
        let (generation, compiled) = live.current();
        report.compiled = compiled.clone();
        for f in &mut fed {
            f.plan = Plan::new(&compiled.set, f.stream.decoder());
        }
        let mut batcher = Batcher::new(&compiled.set);
        loop {
            if live.newer_than(generation) {
                continue 'sets;
            }
            let chunk = match rx.recv_timeout(POLL) {
                Ok(chunk) => chunk,
                Err(RecvTimeoutError::Disconnected) => break 'sets,
                Err(RecvTimeoutError::Timeout) => {
                    if stop.load(Ordering::Relaxed) {
                        let at = *stopped_at.get_or_insert_with(Instant::now);
                        if at.elapsed() >= DRAIN {
                            break 'sets;
                        }
                    }
                    continue;
                }
            };
            let source = &sources[chunk.source];
            let current = &mut fed[chunk.source];
            if current.generation != chunk.generation {
                total += current.stream.counts();
                *current = Fed::new(&compiled.set, source, chunk.generation, quarantine)?;
            }
            *current.next.borrow_mut() = Some(chunk.bytes);
            let mut matched = false;
            loop {
                let now = Timestamp::now().unix_micros();
                let Some(batch) = batcher
                    .next(
                        &mut current.stream,
                        current.plan.as_ref(),
                        report.seq,
                        now,
                        &mut hits,
                    )
                    .with_context(|| format!("cannot read {}", source.name))?
                else {
                    break;
                };
                matched |= !hits.is_empty();
                report.batch(chunk.source, batch, &hits, now)?;
            }
            // Matches are written as they are found, not when the buffer fills: someone is
            // waiting for them.
            if matched {
                report.out.flush()?;
            }
        }
    }
    for f in &fed {
        total += f.stream.counts();
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use super::*;

    #[test]
    fn lines_are_cut_at_newlines_and_a_long_line_is_bounded() {
        let mut lines = Lines::default();
        assert_eq!(lines.push(b"ab"), None);
        assert_eq!(lines.push(b"c\nd\ne"), Some(b"abc\nd\n".to_vec()));
        assert_eq!(lines.push(b"f\n"), Some(b"ef\n".to_vec()));
        assert_eq!(lines.rest(), None);
        let long = vec![b'x'; MAX_LINE];
        lines.push(&long);
        lines.push(&long);
        let chunk = lines.push(b"yyy\nz\n").unwrap();
        assert_eq!(chunk.len(), MAX_LINE + 1 + 1 + 2);
        assert!(chunk.ends_with(b"x\nz\n"));
        lines.push(b"tail");
        assert_eq!(lines.rest(), Some(b"tail".to_vec()));
    }
}
