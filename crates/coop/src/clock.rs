//! The deadline clocks of a request: which reminders are due at a given time.
//!
//! The clocks start from the request's own record (when it was sent and received) and its
//! requested deadline, so any hub computes the same reminders from the same chain:
//!
//! | clock | runs out | who is reminded |
//! |---|---|---|
//! | `acknowledgement` | received and not acknowledged within 1 h (emergency, immediate), 4 h (urgent) or 24 h (routine) | the recipient |
//! | `deadline-near` | not answered when a quarter of the time from sending to the deadline is left (at least 1 h, at most 24 h before) | the recipient |
//! | `deadline-passed` | not answered at the deadline | the recipient and the requester |
//! | `preservation-expiring` | a preservation's extension ends within 7 days and the request is open | the requester |
//!
//! A reminder whose cause is dealt with ([`settled`]) has its warning acknowledged by the hub,
//! which stops its escalation.
//!
//! Each reminder is raised once (the hub records it) as a warning to the organisation's focal
//! points, which the warning courier delivers and escalates like any other.

use crate::chain::{Case, Entry};
use crate::request::{RequestType, Urgency};
use crate::state::{Event, State};

const HOUR: i64 = 3_600_000_000;

/// A reminder due on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// Which clock ran out (for a preservation, with the expiry it is about: each extension
    /// has its own reminder).
    pub kind: String,
    /// The organisation reminded (by name).
    pub org: String,
    /// `medium`, `high` or `critical`, as warning severities.
    pub severity: &'static str,
    /// What ran out, in a sentence.
    pub text: String,
}

/// How long the recipient has to acknowledge a received request.
pub fn acknowledgement_window(case: &Case) -> i64 {
    match (case.request.request_type, case.request.urgency) {
        (RequestType::Emergency, _) | (_, Urgency::Immediate) => HOUR,
        (_, Urgency::Urgent) => 4 * HOUR,
        (_, Urgency::Routine) => 24 * HOUR,
    }
}

/// When the last `event` of this kind was recorded, in microseconds.
fn recorded(case: &Case, wanted: fn(&Event) -> bool) -> Option<i64> {
    case.records
        .iter()
        .rev()
        .find_map(|r| match r.entry().ok()? {
            Entry::Transition { event, .. } if wanted(&event) => {
                watchpost_stix::Timestamp::parse(&r.at)
                    .ok()
                    .map(|t| t.unix_micros())
            }
            _ => None,
        })
}

/// Whether what a reminder of `kind` was about has been dealt with: the request was
/// acknowledged, answered or closed, or the preservation extended again. Its warning then
/// needs no one's attention any more, and no escalation.
pub fn settled(kind: &str, case: &Case) -> bool {
    let answered = !matches!(
        case.state,
        State::Received | State::Acknowledged | State::InProgress
    );
    match kind {
        "acknowledgement" => case.state != State::Received,
        "deadline-near" | "deadline-passed" => answered,
        _ => match kind.strip_prefix("preservation-expiring ") {
            Some(until) => {
                case.state == State::Closed
                    || case
                        .preserved_until
                        .as_ref()
                        .is_some_and(|u| u.as_str() != until)
            }
            None => false,
        },
    }
}

/// The reminders due on `case` at `now` (microseconds since the epoch).
pub fn due(case: &Case, now: i64) -> Vec<Reminder> {
    let r = &case.request;
    let mut out = Vec::new();
    let name = format!(
        "{} request {} from {} to {}",
        r.request_type, r.case_reference, r.from_org, r.to_org
    );
    let urgent = if r.request_type == RequestType::Emergency {
        "critical"
    } else {
        "high"
    };
    if case.state == State::Received {
        if let Some(at) = recorded(case, |e| matches!(e, Event::Receive)) {
            let window = acknowledgement_window(case);
            if now >= at + window {
                out.push(Reminder {
                    kind: "acknowledgement".into(),
                    org: r.to_org.clone(),
                    severity: urgent,
                    text: format!(
                        "{name}: received and not acknowledged within {} h",
                        window / HOUR
                    ),
                });
            }
        }
    }
    let open = matches!(
        case.state,
        State::Received | State::Acknowledged | State::InProgress
    );
    if let (true, Some(deadline)) = (open, &r.deadline) {
        let end = deadline.unix_micros();
        let sent = recorded(case, |e| matches!(e, Event::Send)).unwrap_or(end);
        let lead = ((end - sent) / 4).clamp(HOUR, 24 * HOUR);
        if now >= end {
            for org in [&r.to_org, &r.from_org] {
                out.push(Reminder {
                    kind: "deadline-passed".into(),
                    org: org.clone(),
                    severity: urgent,
                    text: format!("{name}: not answered by the deadline {deadline}"),
                });
            }
        } else if now >= end - lead {
            out.push(Reminder {
                kind: "deadline-near".into(),
                org: r.to_org.clone(),
                severity: "medium",
                text: format!("{name}: the answer is due by {deadline}"),
            });
        }
    }
    if let (false, Some(until)) = (case.state == State::Closed, &case.preserved_until) {
        if now >= until.unix_micros() - 7 * 24 * HOUR {
            out.push(Reminder {
                kind: format!("preservation-expiring {until}"),
                org: r.from_org.clone(),
                severity: "medium",
                text: format!("{name}: the preservation ends {until}; extend it or close"),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use watchpost_stix::Timestamp;

    fn at(t: &str) -> i64 {
        Timestamp::parse(t).unwrap().unix_micros()
    }

    fn kinds(case: &Case, now: &str) -> Vec<(String, String)> {
        due(case, at(now))
            .into_iter()
            .map(|r| (r.kind, r.org))
            .collect()
    }

    #[test]
    fn the_clocks_run_from_the_record() {
        // Sent and received at 03:00Z; deadline 2026-11-24T10:00+07:00 = 03:00Z next day.
        let mut c = Case::create(
            crate::chain::tests::sample(),
            "2026-11-23T03:00:00Z",
            "vncert/duty",
        );
        c.apply(Event::Send, "2026-11-23T03:00:00Z", "vncert/duty")
            .unwrap();
        c.apply(Event::Receive, "2026-11-23T03:00:00Z", "laocert/hub")
            .unwrap();
        assert!(kinds(&c, "2026-11-23T20:00:00Z").is_empty());
        // Routine: 24 h to acknowledge; the deadline is near 6 h before (a quarter of 24 h).
        assert_eq!(
            kinds(&c, "2026-11-23T21:00:00Z"),
            [("deadline-near".to_string(), "laocert".to_string())]
        );
        assert_eq!(
            kinds(&c, "2026-11-24T03:00:00Z"),
            [
                ("acknowledgement".to_string(), "laocert".to_string()),
                ("deadline-passed".to_string(), "laocert".to_string()),
                ("deadline-passed".to_string(), "vncert".to_string())
            ]
        );
        assert!(!settled("acknowledgement", &c) && !settled("deadline-passed", &c));
        c.apply(Event::Acknowledge, "2026-11-23T04:00:00Z", "laocert/duty")
            .unwrap();
        assert!(settled("acknowledgement", &c) && !settled("deadline-passed", &c));
        c.apply(Event::Fulfil, "2026-11-23T05:00:00Z", "laocert/duty")
            .unwrap();
        assert!(settled("deadline-passed", &c));
        assert!(kinds(&c, "2026-11-25T00:00:00Z").is_empty());
        c.apply(
            Event::Extend {
                until: "2027-01-01T00:00:00+07:00".parse().unwrap(),
            },
            "2026-11-23T06:00:00Z",
            "vncert/duty",
        )
        .unwrap();
        assert!(kinds(&c, "2026-12-20T00:00:00Z").is_empty());
        let expiring = "preservation-expiring 2027-01-01T00:00:00+07:00".to_string();
        assert_eq!(
            kinds(&c, "2026-12-25T00:00:00Z"),
            [(expiring.clone(), "vncert".to_string())]
        );
        assert!(!settled(&expiring, &c));
        c.apply(
            Event::Extend {
                until: "2027-04-01T00:00:00+07:00".parse().unwrap(),
            },
            "2026-12-26T00:00:00Z",
            "vncert/duty",
        )
        .unwrap();
        assert!(settled(&expiring, &c), "extended again");
    }

    #[test]
    fn an_emergency_must_be_acknowledged_within_the_hour() {
        let mut request = crate::chain::tests::sample();
        request.request_type = RequestType::Emergency;
        request.deadline = None;
        let mut c = Case::create(request, "2026-11-23T03:00:00Z", "vncert/duty");
        c.apply(Event::Send, "2026-11-23T03:00:00Z", "vncert/duty")
            .unwrap();
        c.apply(Event::Receive, "2026-11-23T03:00:00Z", "laocert/hub")
            .unwrap();
        assert!(kinds(&c, "2026-11-23T03:59:00Z").is_empty());
        let due = due(&c, at("2026-11-23T04:00:00Z"));
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].kind.as_str(), due[0].severity),
            ("acknowledgement", "critical")
        );
    }
}
