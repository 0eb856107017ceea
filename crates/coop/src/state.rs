//! Where a request stands, and the only ways it may move.
//!
//! ```text
//! draft ─send→ sent ─receive→ received ─acknowledge→ acknowledged ─start→ in_progress
//!                                                         │                  │
//!                                 fulfil / fulfil-partially / refuse (reason)
//!                                                         ↓                  ↓
//!                               fulfilled | partially_fulfilled | refused ─close→ closed
//! ```
//!
//! A preservation request may also be extended (a new expiry for the preserved data) from
//! acknowledgement until it is closed; an extension leaves the state where it is. The graph is
//! [`LEGAL`]: one table the machine and its tests read, so they cannot disagree.

use crate::request::{OffsetTime, RequestType};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Written, not sent.
    Draft,
    /// Sent by the requesting focal point.
    Sent,
    /// Delivered to the receiving focal point's hub.
    Received,
    /// A person at the receiving focal point has taken it on.
    Acknowledged,
    /// Being worked on.
    InProgress,
    /// Answered in full.
    Fulfilled,
    /// Answered in part.
    PartiallyFulfilled,
    /// Refused, with a reason.
    Refused,
    /// Closed by the requester.
    Closed,
}

impl State {
    /// Every state, in the order of the graph.
    pub const ALL: [State; 9] = [
        State::Draft,
        State::Sent,
        State::Received,
        State::Acknowledged,
        State::InProgress,
        State::Fulfilled,
        State::PartiallyFulfilled,
        State::Refused,
        State::Closed,
    ];

    /// The name used in the database, on the command line and in STIX.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Sent => "sent",
            State::Received => "received",
            State::Acknowledged => "acknowledged",
            State::InProgress => "in_progress",
            State::Fulfilled => "fulfilled",
            State::PartiallyFulfilled => "partially_fulfilled",
            State::Refused => "refused",
            State::Closed => "closed",
        }
    }

    /// The state a name stands for.
    pub fn from_name(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happens to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The requester sends it.
    Send,
    /// The receiving hub has it.
    Receive,
    /// The receiving focal point takes it on.
    Acknowledge,
    /// Work starts.
    Start,
    /// Answered in full.
    Fulfil,
    /// Answered in part.
    FulfilPartially,
    /// Refused; the reason goes on the record.
    Refuse {
        /// Why.
        reason: String,
    },
    /// The requester closes it.
    Close,
    /// The preservation is extended until a new expiry.
    Extend {
        /// The new expiry.
        until: OffsetTime,
    },
}

impl Event {
    /// The state this event leads to from `from` (an extension stays where it is).
    pub fn target(&self, from: State) -> State {
        match self {
            Event::Send => State::Sent,
            Event::Receive => State::Received,
            Event::Acknowledge => State::Acknowledged,
            Event::Start => State::InProgress,
            Event::Fulfil => State::Fulfilled,
            Event::FulfilPartially => State::PartiallyFulfilled,
            Event::Refuse { .. } => State::Refused,
            Event::Close => State::Closed,
            Event::Extend { .. } => from,
        }
    }

    /// Whether the event is an extension rather than a move.
    pub fn is_extension(&self) -> bool {
        matches!(self, Event::Extend { .. })
    }
}

/// The moves the graph allows, as (from, to).
pub const LEGAL: [(State, State); 11] = [
    (State::Draft, State::Sent),
    (State::Sent, State::Received),
    (State::Received, State::Acknowledged),
    (State::Acknowledged, State::InProgress),
    (State::Acknowledged, State::Fulfilled),
    (State::Acknowledged, State::PartiallyFulfilled),
    (State::Acknowledged, State::Refused),
    (State::InProgress, State::Fulfilled),
    (State::InProgress, State::PartiallyFulfilled),
    (State::InProgress, State::Refused),
    (State::Fulfilled, State::Closed),
];

/// Terminal answers that may be closed, besides `fulfilled` (listed in [`LEGAL`]).
const CLOSABLE: [State; 2] = [State::PartiallyFulfilled, State::Refused];

/// States in which a preservation may be extended: someone holds the data.
pub const EXTENDABLE: [State; 5] = [
    State::Acknowledged,
    State::InProgress,
    State::Fulfilled,
    State::PartiallyFulfilled,
    State::Refused,
];

/// Whether the graph allows `from → to`.
pub fn is_legal(from: State, to: State) -> bool {
    LEGAL.contains(&(from, to)) || (to == State::Closed && CLOSABLE.contains(&from))
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransitionError {
    /// The graph has no such move.
    #[error("a request cannot go from {from} to {to}{}", next_hint(*.from))]
    Illegal {
        /// Where the request is.
        from: State,
        /// Where the event would take it.
        to: State,
    },
    /// A refusal without its reason.
    #[error("a refusal needs a reason")]
    ReasonRequired,
    /// An extension of a request that preserves nothing.
    #[error("only a preservation request can be extended, and this is a {0} request")]
    NotPreservation(RequestType),
    /// An extension before the data is held or after the request is closed.
    #[error("a preservation can be extended only from acknowledgement until it is closed, and this request is {0}")]
    NotExtendable(State),
}

fn next_hint(from: State) -> String {
    let next: Vec<&str> = State::ALL
        .into_iter()
        .filter(|&to| is_legal(from, to))
        .map(State::as_str)
        .collect();
    if next.is_empty() {
        format!("; {from} is final")
    } else {
        format!("; from {from} it can go to {}", next.join(" or "))
    }
}

/// The state after `event`, or why the event is refused (the state is then unchanged, since
/// the caller keeps it).
pub fn apply(
    request_type: RequestType,
    from: State,
    event: &Event,
) -> Result<State, TransitionError> {
    match event {
        Event::Extend { .. } => {
            if request_type != RequestType::Preservation {
                return Err(TransitionError::NotPreservation(request_type));
            }
            if !EXTENDABLE.contains(&from) {
                return Err(TransitionError::NotExtendable(from));
            }
            Ok(from)
        }
        Event::Refuse { reason } if reason.trim().is_empty() => {
            Err(TransitionError::ReasonRequired)
        }
        _ => {
            let to = event.target(from);
            if is_legal(from, to) {
                Ok(to)
            } else {
                Err(TransitionError::Illegal { from, to })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            Just(Event::Send),
            Just(Event::Receive),
            Just(Event::Acknowledge),
            Just(Event::Start),
            Just(Event::Fulfil),
            Just(Event::FulfilPartially),
            prop_oneof![Just(String::new()), Just("no legal basis".to_string())]
                .prop_map(|reason| Event::Refuse { reason }),
            Just(Event::Close),
            Just(Event::Extend {
                until: "2027-02-23T10:00:00+07:00".parse().unwrap()
            }),
        ]
    }

    fn request_type() -> impl Strategy<Value = RequestType> {
        prop_oneof![
            Just(RequestType::Preservation),
            Just(RequestType::Disclosure),
            Just(RequestType::MutualLegalAssistance),
            Just(RequestType::Emergency),
        ]
    }

    proptest! {
        /// Any sequence of events either follows the legal graph or is refused, and a refusal
        /// never changes the state.
        #[test]
        fn events_follow_the_graph_or_are_refused(
            kind in request_type(),
            events in proptest::collection::vec(event(), 0..40),
        ) {
            let mut state = State::Draft;
            for e in &events {
                let before = state;
                match apply(kind, state, e) {
                    Ok(next) => {
                        if e.is_extension() {
                            prop_assert_eq!(kind, RequestType::Preservation);
                            prop_assert!(EXTENDABLE.contains(&before));
                            prop_assert_eq!(next, before);
                        } else {
                            prop_assert!(is_legal(before, next), "{before} → {next}");
                            if let Event::Refuse { reason } = e {
                                prop_assert!(!reason.is_empty());
                            }
                        }
                        state = next;
                    }
                    Err(_) => prop_assert_eq!(state, before),
                }
            }
        }
    }

    #[test]
    fn illegal_moves_name_both_states() {
        let e = apply(RequestType::Preservation, State::Draft, &Event::Close).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a request cannot go from draft to closed; from draft it can go to sent"
        );
        let e = apply(RequestType::Disclosure, State::Received, &Event::Fulfil).unwrap_err();
        assert_eq!(
            e,
            TransitionError::Illegal {
                from: State::Received,
                to: State::Fulfilled
            }
        );
        let refuse = Event::Refuse { reason: " ".into() };
        assert_eq!(
            apply(RequestType::Emergency, State::InProgress, &refuse),
            Err(TransitionError::ReasonRequired)
        );
        let extend = Event::Extend {
            until: "2027-01-01T00:00:00Z".parse().unwrap(),
        };
        assert!(apply(RequestType::Emergency, State::Fulfilled, &extend).is_err());
        assert_eq!(
            apply(RequestType::Preservation, State::Fulfilled, &extend),
            Ok(State::Fulfilled)
        );
        assert!(apply(RequestType::Preservation, State::Closed, &extend).is_err());
    }

    #[test]
    fn the_whole_way() {
        let mut s = State::Draft;
        for e in [
            Event::Send,
            Event::Receive,
            Event::Acknowledge,
            Event::Start,
            Event::FulfilPartially,
            Event::Close,
        ] {
            s = apply(RequestType::Preservation, s, &e).unwrap();
        }
        assert_eq!(s, State::Closed);
    }
}
