//! What a focal point asks of another: the request as the two authorities word it.
//!
//! Times a request names (when an address was seen, the deadline) keep the offset the
//! requesting authority gave: "10:00 in Hanoi" is evidence, and rewriting it to UTC would make
//! the record say something the requester did not write.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// Why a request or one of its fields could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A time without its offset, or not a time at all.
    #[error("{0:?} is not a time with its offset: expected e.g. 2026-11-23T10:00:00+07:00")]
    Time(String),
    /// An IP identifier that does not read as ADDRESS[:PORT]@TIME.
    #[error("{0:?} is not an IP identifier: expected ADDRESS[:PORT]@TIME, e.g. 203.0.113.5:443@2026-11-23T10:00:00+07:00")]
    Ip(String),
    /// An unknown request type.
    #[error("{0:?} is not a request type: expected preservation, disclosure, mutual-legal-assistance or emergency")]
    Type(String),
    /// A request from an organisation to itself.
    #[error("a request goes to another organisation, not from {0} to itself")]
    SameOrg(String),
    /// A field that must not be empty is.
    #[error("the request has no {0}")]
    Missing(&'static str),
}

/// A point in time exactly as written, with its UTC offset (`Z` or `±HH:MM`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OffsetTime(String);

impl OffsetTime {
    /// The time as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The instant, in microseconds since the Unix epoch (UTC).
    pub fn unix_micros(&self) -> i64 {
        let text = &self.0;
        // Checked when made: 19 ASCII characters of date and time, a fraction, an offset.
        let cut = text[19..]
            .find(['Z', 'z', '+', '-'])
            .map_or(text.len(), |i| i + 19);
        let (local, offset) = text.split_at(cut);
        let utc = format!("{}Z", local.replace('t', "T"));
        let micros = watchpost_stix::Timestamp::parse(&utc).map_or(0, |t| t.unix_micros());
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let minutes = match offset.as_bytes() {
            [_, h1, h2, b':', m1, m2] => {
                let n = |a: &u8, b: &u8| i64::from((a - b'0') * 10 + (b - b'0'));
                n(h1, h2) * 60 + n(m1, m2)
            }
            _ => 0,
        };
        micros - sign * minutes * 60_000_000
    }
}

impl FromStr for OffsetTime {
    type Err = RequestError;

    fn from_str(text: &str) -> Result<Self, RequestError> {
        let bad = || RequestError::Time(text.to_string());
        let b = text.as_bytes();
        if b.len() < 20 || !text.is_ascii() {
            return Err(bad());
        }
        let digits = |from: usize, to: usize| -> Result<u32, RequestError> {
            let s = &text[from..to];
            if s.bytes().all(|c| c.is_ascii_digit()) {
                s.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let punct = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
        if punct.iter().any(|&(i, c)| b[i] != c) || !matches!(b[10], b'T' | b't') {
            return Err(bad());
        }
        let (month, day) = (digits(5, 7)?, digits(8, 10)?);
        let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
        digits(0, 4)?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return Err(bad());
        }
        if second > 60 {
            return Err(bad());
        }
        let mut rest = &text[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err(bad());
            }
            rest = &frac[n..];
        }
        let offset_ok = match rest.as_bytes() {
            [b'Z' | b'z'] => true,
            [b'+' | b'-', h1, h2, b':', m1, m2] => {
                let all = [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit());
                all && (h1 - b'0') * 10 + (h2 - b'0') <= 23 && (m1 - b'0') * 10 + (m2 - b'0') <= 59
            }
            _ => false,
        };
        if offset_ok {
            Ok(OffsetTime(text.to_string()))
        } else {
            Err(bad())
        }
    }
}

impl TryFrom<String> for OffsetTime {
    type Error = RequestError;
    fn try_from(text: String) -> Result<Self, RequestError> {
        text.parse()
    }
}

impl From<OffsetTime> for String {
    fn from(t: OffsetTime) -> String {
        t.0
    }
}

impl fmt::Display for OffsetTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is asked for; the names follow the Convention's articles on 24/7 cooperation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestType {
    /// Expedited preservation of stored computer data.
    Preservation,
    /// Disclosure of traffic or subscriber data.
    Disclosure,
    /// Mutual legal assistance.
    MutualLegalAssistance,
    /// An emergency: a threat to someone's life or safety.
    Emergency,
}

impl RequestType {
    /// The name used on the command line, in the database and in STIX.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::Preservation => "preservation",
            RequestType::Disclosure => "disclosure",
            RequestType::MutualLegalAssistance => "mutual-legal-assistance",
            RequestType::Emergency => "emergency",
        }
    }
}

impl FromStr for RequestType {
    type Err = RequestError;
    fn from_str(s: &str) -> Result<Self, RequestError> {
        match s {
            "preservation" => Ok(RequestType::Preservation),
            "disclosure" => Ok(RequestType::Disclosure),
            "mutual-legal-assistance" | "mla" => Ok(RequestType::MutualLegalAssistance),
            "emergency" => Ok(RequestType::Emergency),
            _ => Err(RequestError::Type(s.to_string())),
        }
    }
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the data holder must find: each kind keeps its own shape, so an address is never
/// confused with an account name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Identifier {
    /// An address (and port) at a moment: behind NAT the address alone names nobody.
    Ip {
        /// The address.
        address: IpAddr,
        /// The source port, when carrier-grade NAT makes it necessary.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// When it was seen, with the offset the requester gave.
        at: OffsetTime,
    },
    /// An account name at a service.
    Account {
        /// The account.
        value: String,
    },
    /// A domain name.
    Domain {
        /// The domain.
        value: String,
    },
    /// An e-mail address.
    Email {
        /// The address.
        value: String,
    },
    /// A telephone number.
    Phone {
        /// The number.
        value: String,
    },
}

/// As typed on the command line: `ip 203.0.113.5:443@2026-11-23T10:00:00+07:00`,
/// `account shop-admin@example.la`.
impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Ip { address, port, at } => match (address, port) {
                (IpAddr::V6(a), Some(p)) => write!(f, "ip [{a}]:{p}@{at}"),
                (a, Some(p)) => write!(f, "ip {a}:{p}@{at}"),
                (a, None) => write!(f, "ip {a}@{at}"),
            },
            Identifier::Account { value } => write!(f, "account {value}"),
            Identifier::Domain { value } => write!(f, "domain {value}"),
            Identifier::Email { value } => write!(f, "email {value}"),
            Identifier::Phone { value } => write!(f, "phone {value}"),
        }
    }
}

impl Identifier {
    /// Reads `ADDRESS[:PORT]@TIME` (IPv6 with a port as `[ADDRESS]:PORT@TIME`).
    pub fn parse_ip(text: &str) -> Result<Identifier, RequestError> {
        let bad = || RequestError::Ip(text.to_string());
        let (addr, at) = text.split_once('@').ok_or_else(bad)?;
        let at: OffsetTime = at.parse()?;
        if let Ok(sock) = addr.parse::<SocketAddr>() {
            return Ok(Identifier::Ip {
                address: sock.ip(),
                port: Some(sock.port()),
                at,
            });
        }
        let address = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map_err(|_| bad())?;
        Ok(Identifier::Ip {
            address,
            port: None,
            at,
        })
    }
}

/// How soon the answer is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    /// Within the usual time.
    #[default]
    Routine,
    /// Within days.
    Urgent,
    /// Now: the 24/7 point of contact acts on receipt.
    Immediate,
}

impl Urgency {
    /// The name used on the command line and in STIX.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Routine => "routine",
            Urgency::Urgent => "urgent",
            Urgency::Immediate => "immediate",
        }
    }
}

/// Whether the data holder may tell the person concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Confidentiality {
    /// The request itself is confidential, as every 24/7 request is.
    #[default]
    Confidential,
    /// And the data holder must not tell the person concerned.
    NoDisclosureToSubject,
}

/// A file sent with a request; its content is stored beside the request, keyed by its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name as given.
    pub name: String,
    /// The SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// The size in bytes.
    pub size: u64,
}

impl Attachment {
    /// Describes `content` under `name`.
    pub fn of(name: &str, content: &[u8]) -> Attachment {
        Attachment {
            name: name.to_string(),
            sha256: crate::chain::hex_sha256(content),
            size: content.len() as u64,
        }
    }
}

/// A 24/7 request from one focal point to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// `x-watchpost-request--UUID`: the same id in the store and in STIX.
    pub id: String,
    /// What is asked for.
    pub request_type: RequestType,
    /// The authority that asks (a prosecutor's office, a police unit).
    pub requesting_authority: String,
    /// The requester's case reference.
    pub case_reference: String,
    /// The provisions the request rests on.
    pub legal_basis: String,
    /// What the data holder must find.
    pub identifiers: Vec<Identifier>,
    /// Who holds the data, when the requester knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_holder: Option<String>,
    /// How soon.
    #[serde(default)]
    pub urgency: Urgency,
    /// Who may be told.
    #[serde(default)]
    pub confidentiality: Confidentiality,
    /// The answer is needed by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<OffsetTime>,
    /// Files sent with the request.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The requesting focal point's organisation (by name).
    pub from_org: String,
    /// The receiving focal point's organisation (by name).
    pub to_org: String,
}

impl Request {
    /// A new request id.
    pub fn new_id() -> String {
        format!("{}--{}", crate::stix::OBJECT_TYPE, uuid::Uuid::new_v4())
    }

    /// Checks the fields every request needs.
    pub fn check(&self) -> Result<(), RequestError> {
        let required = [
            (&self.requesting_authority, "requesting authority"),
            (&self.case_reference, "case reference"),
            (&self.legal_basis, "legal basis"),
            (&self.from_org, "requesting organisation"),
            (&self.to_org, "receiving organisation"),
        ];
        for (value, name) in required {
            if value.trim().is_empty() {
                return Err(RequestError::Missing(name));
            }
        }
        if self.identifiers.is_empty() {
            return Err(RequestError::Missing("identifier"));
        }
        if self.from_org == self.to_org {
            return Err(RequestError::SameOrg(self.from_org.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_keep_their_offset() {
        for ok in [
            "2026-11-23T10:00:00+07:00",
            "2026-11-23T03:00:00Z",
            "2026-11-23T10:00:00.123-05:30",
        ] {
            assert_eq!(ok.parse::<OffsetTime>().unwrap().as_str(), ok);
        }
        for bad in [
            "2026-11-23T10:00:00",
            "2026-11-23 10:00:00+07:00",
            "2026-13-23T10:00:00Z",
            "2026-11-23T10:00:00+0700",
            "yesterday",
        ] {
            assert!(bad.parse::<OffsetTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn times_with_offsets_are_the_same_instant() {
        let at = |t: &str| t.parse::<OffsetTime>().unwrap().unix_micros();
        assert_eq!(at("2026-11-23T10:00:00+07:00"), at("2026-11-23T03:00:00Z"));
        assert_eq!(
            at("2026-11-23T10:00:00.500-05:30"),
            at("2026-11-23T15:30:00.5Z")
        );
        assert_eq!(at("1970-01-01T00:00:01Z"), 1_000_000);
    }

    #[test]
    fn identifiers_read_as_typed() {
        for typed in [
            "203.0.113.5:443@2026-11-23T10:00:00+07:00",
            "[2001:db8::1]:443@2026-11-23T10:00:00Z",
            "2001:db8::1@2026-11-23T10:00:00Z",
        ] {
            let i = Identifier::parse_ip(typed).unwrap();
            assert_eq!(i.to_string(), format!("ip {typed}"));
        }
    }

    #[test]
    fn ip_identifiers() {
        let id = Identifier::parse_ip("203.0.113.5:443@2026-11-23T10:00:00+07:00").unwrap();
        assert_eq!(
            serde_json::to_value(&id).unwrap(),
            serde_json::json!({"kind": "ip", "address": "203.0.113.5", "port": 443,
                               "at": "2026-11-23T10:00:00+07:00"})
        );
        let v6 = Identifier::parse_ip("[2001:db8::1]:8080@2026-11-23T10:00:00Z").unwrap();
        assert!(matches!(
            v6,
            Identifier::Ip {
                port: Some(8080),
                ..
            }
        ));
        let bare = Identifier::parse_ip("2001:db8::1@2026-11-23T10:00:00Z").unwrap();
        assert!(matches!(bare, Identifier::Ip { port: None, .. }));
        assert!(Identifier::parse_ip("203.0.113.5:443").is_err());
        assert!(Identifier::parse_ip("host:443@2026-11-23T10:00:00Z").is_err());
    }
}
