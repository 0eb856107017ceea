//! A request between two hubs. Each hub keeps its own chain of the request; after each event
//! that happens on a hub, the hub publishes the request as a new version of its STIX object
//! carrying that chain ([`to_object`]), and the other hub copies into its own chain the events
//! it does not have yet ([`merge`]), each copy pointing at the original ([`Via`]).
//!
//! What arrives is checked before anything is copied: it is a request; the chain it carries
//! verifies; its first record creates this request; the hub that sent it speaks for one of
//! the request's two organisations, and only that side's events are copied — a requester
//! sends, closes and extends; the recipient receives, acknowledges, starts and answers; either
//! writes notes — and each event must be legal from the state the copy has reached. The creation
//! is copied as it is (same time, actor and content), so both chains start with the same hash.

use crate::chain::{Case, Entry, Record, ReplayError, Via};
use crate::request::{Attachment, Request};
use crate::state::{Event, State};
use crate::stix::{self, StixError};
use base64::Engine;
use serde_json::{json, Value};

/// The property that carries the publishing hub's chain.
pub const CHAIN: &str = "x_watchpost_chain";
/// The property that carries attachment contents (base64), with the first version.
pub const PAYLOADS: &str = "x_watchpost_payloads";

/// Which organisation of a request an event belongs to.
pub fn by_requester(event: &Event) -> bool {
    matches!(event, Event::Send | Event::Close | Event::Extend { .. })
}

/// Why a version from another hub was not taken in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// Not a request.
    #[error(transparent)]
    Stix(#[from] StixError),
    /// The carried chain is missing or unreadable.
    #[error("the request carries no readable {CHAIN}: {0}")]
    Unreadable(String),
    /// The carried chain or a copied event does not hold.
    #[error("the request's chain from the other hub cannot be taken in: {0}")]
    Replay(#[from] ReplayError),
    /// The sending hub does not speak for either organisation of the request.
    #[error("{peer} is neither the requester ({from}) nor the recipient ({to}) of the request")]
    NotParty {
        /// The sending hub's organisation.
        peer: String,
        /// The requester.
        from: String,
        /// The recipient.
        to: String,
    },
    /// The request's other organisation is not one of this hub's.
    #[error(
        "the request is between {from} and {to}, and {other} is not an organisation of this hub"
    )]
    NotOurs {
        /// The requester.
        from: String,
        /// The recipient.
        to: String,
        /// The party that should be this hub's.
        other: String,
    },
    /// A request reaches a hub first from its requester.
    #[error("the request is unknown here and only its requester ({0}) can introduce it")]
    Unknown(String),
    /// The carried chain creates another request than the one stored here.
    #[error("the chain's first event creates another request than the one stored here")]
    Different,
    /// An event of the other side.
    #[error("event {seq} ({event}) is the other organisation's to record, not {peer}'s")]
    WrongSide {
        /// Its place in the carried chain.
        seq: u64,
        /// What it is.
        event: String,
        /// The sending hub's organisation.
        peer: String,
    },
    /// This hub's own record of the request does not replay (it was changed here).
    #[error("this hub's record of the request does not verify ({0}); nothing more is taken in for it until it is repaired")]
    Local(String),
    /// An attachment content that is not what the request lists.
    #[error("attachment {0} does not match the SHA-256 and size the request lists")]
    Payload(String),
}

/// What a version from another hub says.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The request as the other hub has it.
    pub request: Request,
    /// Its state there.
    pub state: State,
    /// The other hub's chain, verified.
    pub chain: Vec<Record>,
    /// Attachment contents sent with it, each checked against the request's list.
    pub payloads: Vec<(Attachment, Vec<u8>)>,
}

/// The request's STIX version for the other hub: the request, its state, this hub's chain
/// and, when given, the attachments' contents.
pub fn to_object(
    case: &Case,
    modified: &str,
    recipients: &[String],
    payloads: &[(Attachment, Vec<u8>)],
) -> Value {
    let created = case.records.first().map_or(modified, |r| r.at.as_str());
    let mut object = stix::to_stix(&case.request, case.state, created, modified, recipients);
    let chain: Vec<Value> = case.records.iter().map(record_json).collect();
    object[CHAIN] = Value::Array(chain);
    if !payloads.is_empty() {
        let engine = base64::engine::general_purpose::STANDARD;
        let list: Vec<Value> = payloads
            .iter()
            .map(|(a, content)| json!({"sha256": a.sha256, "payload_bin": engine.encode(content)}))
            .collect();
        object[PAYLOADS] = Value::Array(list);
    }
    object
}

fn record_json(r: &Record) -> Value {
    json!({"seq": r.seq, "at": r.at, "actor": r.actor, "kind": r.kind, "body": r.body,
           "prev_hash": r.prev_hash, "hash": r.hash})
}

fn record_from(v: &Value, i: usize) -> Result<Record, RelayError> {
    let text = |key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| RelayError::Unreadable(format!("{CHAIN}[{i}].{key} is not a string")))
    };
    Ok(Record {
        seq: v
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or_else(|| RelayError::Unreadable(format!("{CHAIN}[{i}].seq is not a number")))?,
        at: text("at")?,
        actor: text("actor")?,
        kind: text("kind")?,
        body: v.get("body").cloned().unwrap_or(Value::Null),
        prev_hash: text("prev_hash")?,
        hash: text("hash")?,
    })
}

/// Reads and checks a version from another hub (its chain verifies, its payloads match).
pub fn parse(object: &Value) -> Result<Incoming, RelayError> {
    let (request, state) = stix::from_stix(object)?;
    let chain = object
        .get(CHAIN)
        .and_then(Value::as_array)
        .ok_or_else(|| RelayError::Unreadable(format!("{CHAIN} is not a list")))?
        .iter()
        .enumerate()
        .map(|(i, v)| record_from(v, i))
        .collect::<Result<Vec<_>, _>>()?;
    crate::chain::verify(&chain).map_err(ReplayError::from)?;
    let mut payloads = Vec::new();
    let engine = base64::engine::general_purpose::STANDARD;
    for (i, p) in object
        .get(PAYLOADS)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let sha = p.get("sha256").and_then(Value::as_str).unwrap_or("");
        let content = p
            .get("payload_bin")
            .and_then(Value::as_str)
            .and_then(|b| engine.decode(b).ok())
            .ok_or_else(|| RelayError::Unreadable(format!("{PAYLOADS}[{i}] is not base64")))?;
        let listed = request.attachments.iter().find(|a| a.sha256 == sha);
        match listed {
            Some(a) if *a == Attachment::of(&a.name, &content) => {
                payloads.push((a.clone(), content))
            }
            _ => return Err(RelayError::Payload(format!("{PAYLOADS}[{i}] ({sha})"))),
        }
    }
    Ok(Incoming {
        request,
        state,
        chain,
        payloads,
    })
}

/// The local case after taking in `incoming` from the hub of `peer_org`, and the index of its
/// first new record (0 when the request is new here). Nothing new: the case as it was.
pub fn merge(
    local: Option<Case>,
    incoming: &Incoming,
    peer_org: &str,
) -> Result<(Case, usize), RelayError> {
    let first = incoming
        .chain
        .first()
        .ok_or(ReplayError::Chain(crate::chain::ChainError::Empty))?;
    // The parties are those of the chain's creation, which is what gets stored; the object's
    // own fields must name the same request.
    let Entry::Created(original) = first.entry()? else {
        return Err(ReplayError::NotCreated(first.kind.clone()).into());
    };
    if original.id != incoming.request.id {
        return Err(RelayError::Different);
    }
    let from_requester = original.from_org == peer_org;
    if !from_requester && original.to_org != peer_org {
        return Err(RelayError::NotParty {
            peer: peer_org.to_string(),
            from: original.from_org.clone(),
            to: original.to_org.clone(),
        });
    }
    let (mut case, fresh) = match local {
        Some(case) => {
            if case.records.first().map(|r| &r.hash) != Some(&first.hash) {
                return Err(RelayError::Different);
            }
            (case, false)
        }
        None if from_requester => (Case::create(original, &first.at, &first.actor), true),
        None => return Err(RelayError::Unknown(original.from_org.clone())),
    };
    if case.records.first().map(|r| &r.hash) != Some(&first.hash) {
        return Err(RelayError::Different);
    }
    let before = if fresh { 0 } else { case.records.len() };
    let copied = case
        .records
        .iter()
        .filter_map(|r| r.entry().ok()?.via().map(|v| v.seq))
        .max()
        .unwrap_or(1);
    for r in incoming.chain.iter().filter(|r| r.seq > copied) {
        let entry = r.entry()?;
        let event = match &entry {
            // Copies of this hub's own events, and files (they travel with the request).
            _ if entry.via().is_some() => continue,
            Entry::Created(_) | Entry::Attachment(_) => continue,
            Entry::Transition { event, .. } | Entry::Extension { event, .. } => Some(event),
            Entry::Note { .. } => None,
        };
        if event.is_some_and(|e| by_requester(e) != from_requester) {
            return Err(RelayError::WrongSide {
                seq: r.seq,
                event: r.kind.clone(),
                peer: peer_org.to_string(),
            });
        }
        let via = Via {
            seq: r.seq,
            hash: r.hash.clone(),
        };
        match event {
            Some(e) => case.apply_via(e.clone(), &r.at, &r.actor, Some(via))?,
            None => case.push(entry.copied(via), &r.at, &r.actor)?,
        };
    }
    Ok((case, before))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::chain::verify;

    const T: &str = "2026-11-23T03:00:00.000Z";

    fn ids() -> Vec<String> {
        vec!["identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061".into()]
    }

    /// Sends `case` to the other hub as STIX and back through parse.
    fn travel(case: &Case) -> Incoming {
        let text = to_object(case, T, &ids(), &[]).to_string();
        parse(&serde_json::from_str(&text).unwrap()).unwrap()
    }

    #[test]
    fn a_request_goes_back_and_forth_and_both_chains_verify() {
        let mut vn = Case::create(crate::chain::tests::sample(), T, "vncert/duty");
        vn.apply(Event::Send, T, "vncert/duty").unwrap();
        let (mut la, from) = merge(None, &travel(&vn), "vncert").unwrap();
        assert_eq!((la.state, from, la.records.len()), (State::Sent, 0, 2));
        assert_eq!(
            la.records[0].hash, vn.records[0].hash,
            "the same first link"
        );
        la.apply(Event::Receive, T, "laocert/hub").unwrap();
        la.apply(Event::Acknowledge, T, "laocert/duty").unwrap();
        let (vn2, from) = merge(Some(vn.clone()), &travel(&la), "laocert").unwrap();
        assert_eq!(
            (vn2.state, from, vn2.records.len()),
            (State::Acknowledged, 2, 4)
        );
        // Taking the same version in again copies nothing.
        let (vn3, _) = merge(Some(vn2.clone()), &travel(&la), "laocert").unwrap();
        assert_eq!(vn3.records.len(), 4);
        let mut vn = vn3;
        vn.apply(
            Event::Extend {
                until: "2027-02-23T10:00:00+07:00".parse().unwrap(),
            },
            T,
            "vncert/duty",
        )
        .unwrap();
        la.apply(Event::Fulfil, T, "laocert/duty").unwrap();
        // Both acted at once: each takes in the other's event.
        let (la, _) = merge(Some(la.clone()), &travel(&vn), "vncert").unwrap();
        let (vn, _) = merge(Some(vn.clone()), &travel(&la), "laocert").unwrap();
        assert_eq!((la.state, vn.state), (State::Fulfilled, State::Fulfilled));
        assert!(la.preserved_until.is_some() && vn.preserved_until.is_some());
        assert_eq!(verify(&la.records), Ok(6));
        assert_eq!(verify(&vn.records), Ok(6));
        let copies = |c: &Case| {
            c.records
                .iter()
                .filter(|r| r.entry().unwrap().via().is_some())
                .count()
        };
        assert_eq!((copies(&la), copies(&vn)), (2, 3));
    }

    #[test]
    fn a_hub_cannot_record_the_other_sides_events() {
        let mut vn = Case::create(crate::chain::tests::sample(), T, "vncert/duty");
        vn.apply(Event::Send, T, "vncert/duty").unwrap();
        let (mut la, _) = merge(None, &travel(&vn), "vncert").unwrap();
        // A forged close in Laos's chain: Laos may not close Vietnam's request.
        la.apply(Event::Receive, T, "laocert/hub").unwrap();
        la.apply(Event::Acknowledge, T, "laocert/duty").unwrap();
        la.apply(
            Event::Refuse {
                reason: "no".into(),
            },
            T,
            "laocert/duty",
        )
        .unwrap();
        la.apply(Event::Close, T, "laocert/duty").unwrap();
        let e = merge(Some(vn.clone()), &travel(&la), "laocert").unwrap_err();
        assert!(matches!(e, RelayError::WrongSide { seq: 6, .. }), "{e}");
        // A third hub is no party; Laos cannot introduce Vietnam's request to itself.
        let e = merge(None, &travel(&vn), "camcert").unwrap_err();
        assert!(matches!(e, RelayError::NotParty { .. }), "{e}");
        assert!(matches!(
            merge(None, &travel(&la), "laocert"),
            Err(RelayError::Unknown(_))
        ));
        // The parties are read from the chain, not from the object's own fields.
        let mut forged = travel(&vn);
        forged.request.from_org = "camcert".into();
        assert!(matches!(
            merge(None, &forged, "camcert"),
            Err(RelayError::NotParty { .. })
        ));
    }

    #[test]
    fn a_changed_chain_or_payload_is_refused() {
        let mut vn = Case::create(crate::chain::tests::sample(), T, "vncert/duty");
        vn.apply(Event::Send, T, "vncert/duty").unwrap();
        let mut object = to_object(&vn, T, &ids(), &[]);
        object[CHAIN][1]["actor"] = json!("someone");
        assert!(matches!(parse(&object), Err(RelayError::Replay(_))));

        let mut request = crate::chain::tests::sample();
        request
            .attachments
            .push(Attachment::of("order.txt", b"order"));
        let vn = Case::create(request.clone(), T, "vncert/duty");
        let good = vec![(request.attachments[0].clone(), b"order".to_vec())];
        let got = parse(&to_object(&vn, T, &ids(), &good)).unwrap();
        assert_eq!(got.payloads, good);
        let bad = vec![(request.attachments[0].clone(), b"other".to_vec())];
        assert!(matches!(
            parse(&to_object(&vn, T, &ids(), &bad)),
            Err(RelayError::Payload(_))
        ));
    }
}
