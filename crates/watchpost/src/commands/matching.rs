//! Telemetry through a matcher, a batch at a time.
//!
//! When the decoder can find every value the pattern set reads ([`Plan`]), lines take the fast
//! path: each is probed for those values only, the index says which lines may match, and only
//! those are decoded into events and verified. Otherwise every line is decoded, and the values
//! are read from its event. Both give the same hits; `watchpost-telemetry`'s `tests/probe.rs`
//! holds the decoder's two readings to each other.

use std::io::{self, BufRead};
use std::ops::Range;
use watchpost_pattern::eval::{Observation, Sco};
use watchpost_pattern::{Hit, Matcher, PatternSet, ProbeValue};
use watchpost_telemetry::{Atom, Decoder, Event, Line, Stream};

/// Events matched together: enough for the index look-ups to batch well.
pub const BATCH: usize = 64;

/// How a decoder's probe paths map to a set's probes.
pub struct Plan {
    /// For each of the decoder's paths, the set's probe, if the set reads it.
    probe_of: Vec<Option<u32>>,
    wanted: Vec<bool>,
}

impl Plan {
    /// The fast path for `decoder`, if it finds every path the set reads.
    pub fn new(set: &PatternSet, decoder: &dyn Decoder) -> Option<Plan> {
        let paths = decoder.probe_paths();
        let mut probe_of = vec![None; paths.len()];
        for (probe, path) in set.probes().iter().enumerate() {
            let i = paths.iter().position(|p| *p == path.dotted())?;
            probe_of[i] = Some(probe as u32);
        }
        let wanted = probe_of.iter().map(Option::is_some).collect();
        Some(Plan { probe_of, wanted })
    }
}

impl Plan {
    /// Which of the decoder's paths to probe.
    pub fn wanted(&self) -> &[bool] {
        &self.wanted
    }
}

fn probe_value(atom: Atom<'_>) -> ProbeValue<'_> {
    match atom {
        Atom::Str(s) => ProbeValue::Str(s),
        Atom::Int(i) => ProbeValue::Int(i128::from(i)),
    }
}

/// A line of the batch: its text, kept until the index has spoken, or its event.
enum Entry {
    Probed(u64, Range<usize>),
    Decoded(u64, Event),
}

/// A batch read and matched.
pub struct Matched {
    /// Events in the batch (numbered `seq..seq + len`).
    pub len: usize,
    /// The events that were verified (every one a hit names among them), with their number
    /// and line.
    pub verified: Vec<(u64, u64, Event)>,
}

/// Reads batches from streams and matches them.
pub struct Batcher<'s> {
    pub matcher: Matcher<'s>,
    set: &'s PatternSet,
    text: Vec<u8>,
    entries: Vec<Entry>,
}

fn observation(event: &Event, now: i64) -> Observation<'_> {
    let time = event.time.unwrap_or(now);
    Observation {
        id: None,
        first: time,
        last: time,
        count: 1,
        objects: event
            .objects
            .iter()
            .map(|(id, o)| Sco::new(id, o))
            .collect(),
    }
}

impl<'s> Batcher<'s> {
    pub fn new(set: &'s PatternSet) -> Self {
        Batcher {
            matcher: Matcher::new(set),
            set,
            text: Vec::new(),
            entries: Vec::with_capacity(BATCH),
        }
    }

    /// Feeds the values of a decoded event to the matcher.
    fn probe_event(&mut self, slot: usize, event: &Event) {
        let obs = observation(event, 0);
        for (probe, v) in self.set.probe_values(&obs) {
            if let Some(v) = ProbeValue::of_json(v) {
                self.matcher.probe(slot, probe, v);
            }
        }
    }

    /// Reads up to [`BATCH`] events of `stream` (through `plan` when there is one), numbers
    /// them from `seq`, and matches them (events without a time happened `now`); `None` at
    /// the end of the stream.
    pub fn next<R: BufRead, D: Decoder>(
        &mut self,
        stream: &mut Stream<R, D>,
        plan: Option<&Plan>,
        seq: u64,
        now: i64,
        hits: &mut Vec<Hit>,
    ) -> io::Result<Option<Matched>> {
        self.text.clear();
        self.entries.clear();
        self.matcher.start_probes();
        while self.entries.len() < BATCH {
            let slot = self.entries.len();
            let entry = match plan {
                Some(plan) => {
                    let matcher = &mut self.matcher;
                    let mut found = |i: usize, atom: Atom<'_>| {
                        if let Some(probe) = plan.probe_of[i] {
                            matcher.probe(slot, probe, probe_value(atom));
                        }
                    };
                    match stream.next_probed(&plan.wanted, &mut found)? {
                        None => break,
                        Some(Line::Probed { number, text }) => {
                            let start = self.text.len();
                            self.text.extend_from_slice(text);
                            Entry::Probed(number, start..self.text.len())
                        }
                        Some(Line::Decoded(number, event)) => Entry::Decoded(number, event),
                    }
                }
                None => match stream.next_event()? {
                    None => break,
                    Some((number, event)) => Entry::Decoded(number, event),
                },
            };
            if let Entry::Decoded(_, event) = &entry {
                self.probe_event(slot, event);
            }
            self.entries.push(entry);
        }
        if self.entries.is_empty() {
            return Ok(None);
        }
        hits.clear();
        let len = self.entries.len();
        let mut verified = Vec::new();
        for slot in self.matcher.candidate_slots(len) {
            let (line, event) =
                match std::mem::replace(&mut self.entries[slot], Entry::Decoded(0, empty())) {
                    Entry::Decoded(line, event) => (line, event),
                    Entry::Probed(line, range) => {
                        match stream.decode_probed(line, &self.text[range])? {
                            Some(event) => (line, event),
                            None => continue,
                        }
                    }
                };
            let number = seq + slot as u64;
            self.matcher
                .verify_slot(number, slot, &observation(&event, now), hits);
            verified.push((number, line, event));
        }
        Ok(Some(Matched { len, verified }))
    }
}

fn empty() -> Event {
    Event {
        time: None,
        kind: String::new(),
        objects: Vec::new(),
    }
}
