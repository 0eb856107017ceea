//! The tamper-evident record of a request: every event links to the one before it.
//!
//! A record's hash is `SHA-256(previous hash ‖ "\n" ‖ JCS({seq, at, actor, kind, body}))`, in
//! lower-case hex; the first record's previous hash is [`GENESIS`]. Every stored column of an
//! event goes into its hash, so a change to any of them, a removed record or a swapped pair
//! breaks the chain at the first record touched. JCS (RFC 8785, `watchpost_stix::jcs`) makes
//! the hashed bytes independent of how a database or another hub re-serialises the body.
//!
//! The chain proves that the record was not changed after the fact by someone who cannot also
//! rewrite every later hash; the head hash, copied to the other focal point with each event,
//! is what makes a full rewrite visible too.

use crate::request::{Attachment, Request};
use crate::state::{self, Event, State, TransitionError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use watchpost_store::RequestEvent;

/// The previous hash of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record says happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "kebab-case")]
pub enum Entry {
    /// The request was written.
    Created(Request),
    /// The request moved from one state to another.
    Transition {
        /// What happened.
        event: Event,
        /// The state before.
        from: State,
        /// The state after.
        to: State,
        /// The other hub's record this one copies, when the event happened there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<Via>,
    },
    /// A preservation was extended.
    Extension {
        /// The extension (its new expiry).
        event: Event,
        /// The state, unchanged.
        state: State,
        /// The other hub's record this one copies, when the event happened there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<Via>,
    },
    /// A file was added to the request.
    Attachment(Attachment),
    /// A remark on the record that changes nothing.
    Note {
        /// The remark.
        text: String,
        /// The other hub's record this one copies, when the note was written there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<Via>,
    },
}

/// Where a copied record came from: its place and hash in the other hub's chain. Each hub
/// keeps its own chain of a request; the copies tie the two together, so that either hub can
/// show which of the other's records it holds, and a rewrite of one is visible from the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Via {
    /// The record's position in the other hub's chain.
    pub seq: u64,
    /// That record's hash.
    pub hash: String,
}

impl Entry {
    /// The entry's kind, as stored in its own column.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Created(_) => "created",
            Entry::Transition { .. } => "transition",
            Entry::Extension { .. } => "extension",
            Entry::Attachment(_) => "attachment",
            Entry::Note { .. } => "note",
        }
    }

    /// The other hub's record this entry copies, if any.
    pub fn via(&self) -> Option<&Via> {
        match self {
            Entry::Transition { via, .. }
            | Entry::Extension { via, .. }
            | Entry::Note { via, .. } => via.as_ref(),
            Entry::Created(_) | Entry::Attachment(_) => None,
        }
    }

    /// The same entry, marked as a copy of the other hub's record `via`.
    pub fn copied(mut self, from: Via) -> Entry {
        match &mut self {
            Entry::Transition { via, .. }
            | Entry::Extension { via, .. }
            | Entry::Note { via, .. } => *via = Some(from),
            Entry::Created(_) | Entry::Attachment(_) => {}
        }
        self
    }

    fn split(&self) -> (String, Value) {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        let body = v.get_mut("body").map(Value::take).unwrap_or(Value::Null);
        (self.kind().to_string(), body)
    }
}

/// One link of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When (a STIX timestamp, UTC).
    pub at: String,
    /// Who: `org/user`.
    pub actor: String,
    /// The entry's kind.
    pub kind: String,
    /// The entry's content.
    pub body: Value,
    /// The hash of the record before.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// Why a chain does not verify; each names the first bad record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A record is out of place.
    #[error("event {seq} is out of sequence: expected event {expected}")]
    Sequence {
        /// The record's sequence number.
        seq: u64,
        /// The number it should have.
        expected: u64,
    },
    /// A record does not point at the one before it.
    #[error("event {seq} does not follow the event before it: its previous hash is {stored}, but the chain has {expected}")]
    Link {
        /// The record's sequence number.
        seq: u64,
        /// The previous hash it stores.
        stored: String,
        /// The hash of the record before it.
        expected: String,
    },
    /// A record's content does not match its hash.
    #[error("event {seq} ({kind}) was changed: its content hashes to {computed}, but {stored} is stored")]
    Hash {
        /// The record's sequence number.
        seq: u64,
        /// Its kind as stored.
        kind: String,
        /// The hash stored.
        stored: String,
        /// The hash of its content.
        computed: String,
    },
    /// A chain with no records: not even the creation.
    #[error("the request has no events")]
    Empty,
}

/// Why a record could not be read as a request event or could not be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The chain itself is broken.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A record's body is not an entry of its kind.
    #[error("event {seq} is not a valid {kind} event: {message}")]
    Entry {
        /// The record's sequence number.
        seq: u64,
        /// Its kind.
        kind: String,
        /// What is wrong.
        message: String,
    },
    /// The first record does not create the request.
    #[error("the first event of a request must be its creation, not {0}")]
    NotCreated(String),
    /// An event the state machine refuses.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A transition whose recorded states are not those the replay reaches: the writer's
    /// idea of the request differed from its record.
    #[error("a transition records {recorded_from} to {recorded_to}, but the record before it leads from {from} to {to}")]
    Disagrees {
        /// The state before, as recorded.
        recorded_from: State,
        /// The state after, as recorded.
        recorded_to: State,
        /// The state before, as replayed.
        from: State,
        /// The state after, as replayed.
        to: State,
    },
}

/// Lower-case hex SHA-256.
pub fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The hash of a record with these fields after `prev_hash`.
pub fn hash(prev_hash: &str, seq: u64, at: &str, actor: &str, kind: &str, body: &Value) -> String {
    let event = json!({"seq": seq, "at": at, "actor": actor, "kind": kind, "body": body});
    let canonical = watchpost_stix::jcs::to_string(&event);
    let mut bytes = Vec::with_capacity(prev_hash.len() + 1 + canonical.len());
    bytes.extend_from_slice(prev_hash.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(canonical.as_bytes());
    hex_sha256(&bytes)
}

impl Record {
    /// The record that follows `prev` (or starts the chain) with `entry`.
    pub fn next(prev: Option<&Record>, at: &str, actor: &str, entry: &Entry) -> Record {
        let (seq, prev_hash) = match prev {
            Some(p) => (p.seq + 1, p.hash.clone()),
            None => (1, GENESIS.to_string()),
        };
        let (kind, body) = entry.split();
        let hash = hash(&prev_hash, seq, at, actor, &kind, &body);
        Record {
            seq,
            at: at.to_string(),
            actor: actor.to_string(),
            kind,
            body,
            prev_hash,
            hash,
        }
    }

    /// The entry this record holds.
    pub fn entry(&self) -> Result<Entry, ReplayError> {
        let v = json!({"kind": self.kind, "body": self.body});
        serde_json::from_value(v).map_err(|e| ReplayError::Entry {
            seq: self.seq,
            kind: self.kind.clone(),
            message: e.to_string(),
        })
    }

    /// The row the store keeps.
    pub fn to_store(&self) -> RequestEvent {
        RequestEvent {
            seq: i64::try_from(self.seq).unwrap_or(i64::MAX),
            at: self.at.clone(),
            actor: self.actor.clone(),
            kind: self.kind.clone(),
            body: self.body.to_string(),
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        }
    }

    /// A stored row; a body that is not JSON is kept as a JSON string, so that it still
    /// hashes (and fails to verify) rather than hiding the record.
    pub fn from_store(row: &RequestEvent) -> Record {
        Record {
            seq: u64::try_from(row.seq).unwrap_or(0),
            at: row.at.clone(),
            actor: row.actor.clone(),
            kind: row.kind.clone(),
            body: serde_json::from_str(&row.body)
                .unwrap_or_else(|_| Value::String(row.body.clone())),
            prev_hash: row.prev_hash.clone(),
            hash: row.hash.clone(),
        }
    }
}

/// Recomputes the chain; returns the number of records, or the first bad one.
pub fn verify(records: &[Record]) -> Result<usize, ChainError> {
    if records.is_empty() {
        return Err(ChainError::Empty);
    }
    let mut prev = GENESIS.to_string();
    for (i, r) in records.iter().enumerate() {
        let expected = i as u64 + 1;
        if r.seq != expected {
            return Err(ChainError::Sequence {
                seq: r.seq,
                expected,
            });
        }
        if r.prev_hash != prev {
            return Err(ChainError::Link {
                seq: r.seq,
                stored: r.prev_hash.clone(),
                expected: prev,
            });
        }
        let computed = hash(&r.prev_hash, r.seq, &r.at, &r.actor, &r.kind, &r.body);
        if computed != r.hash {
            return Err(ChainError::Hash {
                seq: r.seq,
                kind: r.kind.clone(),
                stored: r.hash.clone(),
                computed,
            });
        }
        prev = r.hash.clone();
    }
    Ok(records.len())
}

/// A request as its records tell it: what was asked, where it stands, until when the data is
/// preserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The request as created, with the attachments added since.
    pub request: Request,
    /// Where it stands.
    pub state: State,
    /// The expiry of the latest preservation extension.
    pub preserved_until: Option<crate::request::OffsetTime>,
    /// The reason of a refusal.
    pub refusal: Option<String>,
    /// The records, oldest first.
    pub records: Vec<Record>,
}

impl Case {
    /// Starts a case with its creation record.
    pub fn create(request: Request, at: &str, actor: &str) -> Case {
        let record = Record::next(None, at, actor, &Entry::Created(request.clone()));
        Case {
            request,
            state: State::Draft,
            preserved_until: None,
            refusal: None,
            records: vec![record],
        }
    }

    /// Verifies the records and replays them through the state machine.
    pub fn replay(records: Vec<Record>) -> Result<Case, ReplayError> {
        verify(&records)?;
        let mut iter = records.iter();
        let first = iter.next().ok_or(ChainError::Empty)?;
        let Entry::Created(request) = first.entry()? else {
            return Err(ReplayError::NotCreated(first.kind.clone()));
        };
        let mut case = Case {
            request,
            state: State::Draft,
            preserved_until: None,
            refusal: None,
            records: Vec::new(),
        };
        for r in iter {
            case.absorb(&r.entry()?)?;
        }
        case.records = records;
        Ok(case)
    }

    fn absorb(&mut self, entry: &Entry) -> Result<(), ReplayError> {
        match entry {
            Entry::Created(_) => return Err(ReplayError::NotCreated("a second creation".into())),
            Entry::Transition {
                event, from, to, ..
            }
            | Entry::Extension {
                event,
                state: from @ to,
                ..
            } => {
                let next = state::apply(self.request.request_type, self.state, event)?;
                if (*from, *to) != (self.state, next) {
                    return Err(ReplayError::Disagrees {
                        recorded_from: *from,
                        recorded_to: *to,
                        from: self.state,
                        to: next,
                    });
                }
                self.state = next;
                match event {
                    Event::Extend { until } => self.preserved_until = Some(until.clone()),
                    Event::Refuse { reason } => self.refusal = Some(reason.clone()),
                    _ => {}
                }
            }
            Entry::Attachment(a) => self.request.attachments.push(a.clone()),
            Entry::Note { .. } => {}
        }
        Ok(())
    }

    /// The newest record.
    pub fn head(&self) -> Option<&Record> {
        self.records.last()
    }

    /// Applies an event and appends its record; a refused event changes nothing.
    pub fn apply(&mut self, event: Event, at: &str, actor: &str) -> Result<&Record, ReplayError> {
        self.apply_via(event, at, actor, None)
    }

    /// Applies an event that may copy another hub's record (`via`), from the state this case
    /// is in: the two hubs may order concurrent events differently, each chain its own way.
    pub fn apply_via(
        &mut self,
        event: Event,
        at: &str,
        actor: &str,
        via: Option<Via>,
    ) -> Result<&Record, ReplayError> {
        let from = self.state;
        let to = state::apply(self.request.request_type, from, &event)?;
        let entry = if event.is_extension() {
            Entry::Extension {
                event,
                state: to,
                via,
            }
        } else {
            Entry::Transition {
                event,
                from,
                to,
                via,
            }
        };
        self.push(entry, at, actor)
    }

    /// Appends an attachment or a note (or any entry) after checking it against the state.
    pub fn push(&mut self, entry: Entry, at: &str, actor: &str) -> Result<&Record, ReplayError> {
        self.absorb(&entry)?;
        let record = Record::next(self.records.last(), at, actor, &entry);
        self.records.push(record);
        let last = self.records.len() - 1;
        Ok(&self.records[last])
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::request::{Identifier, RequestType};

    pub(crate) fn sample() -> Request {
        Request {
            id: "x-watchpost-request--6f1b1c2e-4d1a-4b8e-9d7a-0b6c4c2f1a11".into(),
            request_type: RequestType::Preservation,
            requesting_authority: "Supreme People's Procuracy".into(),
            case_reference: "VN-2026-0042".into(),
            legal_basis: "UN Convention against Cybercrime, art. 42".into(),
            identifiers: vec![
                Identifier::parse_ip("203.0.113.5:443@2026-11-23T10:00:00+07:00").unwrap(),
                Identifier::Account {
                    value: "shop-admin@example.la".into(),
                },
            ],
            data_holder: Some("Example Telecom".into()),
            urgency: Default::default(),
            confidentiality: Default::default(),
            deadline: Some("2026-11-24T10:00:00+07:00".parse().unwrap()),
            attachments: vec![],
            from_org: "vncert".into(),
            to_org: "laocert".into(),
        }
    }

    fn case() -> Case {
        let mut c = Case::create(sample(), "2026-11-23T03:00:00.000Z", "vncert/duty");
        for e in [
            Event::Send,
            Event::Receive,
            Event::Acknowledge,
            Event::Fulfil,
        ] {
            c.apply(e, "2026-11-23T03:10:00.000Z", "laocert/duty")
                .unwrap();
        }
        c.push(
            Entry::Note {
                text: "preserved at the operator".into(),
                via: None,
            },
            "2026-11-23T03:20:00.000Z",
            "laocert/duty",
        )
        .unwrap();
        c
    }

    #[test]
    fn a_chain_verifies_and_replays() {
        let c = case();
        assert_eq!(verify(&c.records), Ok(6));
        let again = Case::replay(c.records.clone()).unwrap();
        assert_eq!(again, c);
        assert_eq!(again.state, State::Fulfilled);
    }

    #[test]
    fn the_first_changed_record_is_named() {
        let mut records = case().records;
        records[2].body["to"] = json!("fulfilled");
        let e = verify(&records).unwrap_err();
        assert!(matches!(e, ChainError::Hash { seq: 3, .. }), "{e}");
        assert!(e
            .to_string()
            .starts_with("event 3 (transition) was changed"));

        let mut records = case().records;
        records[3].actor = "someone-else".into();
        assert!(matches!(
            verify(&records),
            Err(ChainError::Hash { seq: 4, .. })
        ));

        let mut records = case().records;
        records.remove(1);
        assert!(matches!(
            verify(&records),
            Err(ChainError::Sequence {
                seq: 3,
                expected: 2
            })
        ));

        // A record rewritten with a fresh hash still breaks the link of the next one.
        let mut records = case().records;
        let r = &mut records[1];
        r.at = "2026-11-22T00:00:00.000Z".into();
        r.hash = hash(&r.prev_hash, r.seq, &r.at, &r.actor, &r.kind, &r.body);
        assert!(matches!(
            verify(&records),
            Err(ChainError::Link { seq: 3, .. })
        ));
    }

    #[test]
    fn stored_rows_round_trip() {
        let c = case();
        let rows: Vec<Record> = c
            .records
            .iter()
            .map(|r| Record::from_store(&r.to_store()))
            .collect();
        assert_eq!(rows, c.records);
    }

    #[test]
    fn a_record_that_disagrees_with_the_replay_is_refused() {
        let mut c = Case::create(sample(), "2026-11-23T03:00:00.000Z", "vncert/duty");
        c.push(
            Entry::Transition {
                event: Event::Send,
                from: State::Acknowledged,
                to: State::Sent,
                via: None,
            },
            "2026-11-23T03:01:00.000Z",
            "vncert/duty",
        )
        .unwrap_err();
        assert_eq!(c.records.len(), 1);
    }

    #[test]
    fn a_refused_event_appends_nothing() {
        let mut c = Case::create(sample(), "2026-11-23T03:00:00.000Z", "vncert/duty");
        assert!(c.apply(Event::Close, "t", "a").is_err());
        assert_eq!(c.records.len(), 1);
        assert_eq!(c.state, State::Draft);
    }
}
