//! Who may read a stored object: TLP 2.0 and sharing groups, decided here, in the store, so
//! that no request handler, export or federation link can forget a rule.
//!
//! | effective marking | readers on this hub | readers through federation (a peer hub) |
//! |---|---|---|
//! | CLEAR, GREEN | every member organisation | every peer |
//! | AMBER | organisations of the object's sharing group | peers whose organisation is in the group |
//! | AMBER+STRICT | organisations of the object's sharing group | never (it is not re-shared) |
//! | RED | the recipients named on the object | never, except a message addressed to the peer's organisation |
//!
//! The one RED exception is what [`addressed`] names: a 24/7 request travels to the hub of the
//! focal point it is addressed to, as TLP:RED for its two organisations. An indicator marked
//! RED for a partner's organisation still never leaves: its recipients read it here.
//!
//! The owning organisation always reads its own objects. An object without a TLP marking takes
//! its collection's default. A read of AMBER, AMBER+STRICT or RED data by an organisation other
//! than the owner must be written to the audit log: [`Decision::audited`] says so.

use watchpost_stix::marking::Tlp;

/// An organisation of the hub, by its id in the store.
pub type OrgId = String;

/// Who is reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reader {
    /// A user or token of a member organisation of this hub.
    Member(OrgId),
    /// A peer hub reading through federation, on behalf of its organisation.
    Peer(OrgId),
}

impl Reader {
    fn org(&self) -> &str {
        match self {
            Reader::Member(o) | Reader::Peer(o) => o,
        }
    }
}

/// What the rules need to know about a stored object.
#[derive(Clone, Copy, Debug)]
pub struct Audience<'a> {
    /// The organisation that owns the object (added it, or whose feed brought it).
    pub owner: &'a str,
    /// The most restrictive TLP marking on the object, if it has one.
    pub tlp: Option<Tlp>,
    /// The collection's default marking, for objects without one.
    pub collection_default: Tlp,
    /// Members of the object's sharing group (AMBER and AMBER+STRICT).
    pub sharing_group: &'a [OrgId],
    /// Organisations named as recipients (RED).
    pub recipients: &'a [OrgId],
    /// Whether the object is a message to its recipients ([`addressed`]).
    pub addressed: bool,
}

/// The object types that are messages addressed to their RED recipients, and may travel to a
/// peer hub whose organisation is one of them.
pub const ADDRESSED_TYPES: [&str; 1] = ["x-watchpost-request"];

/// Whether the object with this STIX id is a message addressed to its recipients.
pub fn addressed(stix_id: &str) -> bool {
    let object_type = stix_id.split_once("--").map_or(stix_id, |(t, _)| t);
    ADDRESSED_TYPES.contains(&object_type)
}

impl Audience<'_> {
    /// The marking the rules apply: the object's own, else the collection's default.
    pub fn effective_tlp(&self) -> Tlp {
        self.tlp.unwrap_or(self.collection_default)
    }
}

/// The outcome of [`decide`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The reader may not see the object, nor learn that it exists.
    Hidden,
    /// The reader may see the object; `audited` when the read must be logged.
    Visible {
        /// An AMBER+ object read by another organisation than its owner.
        audited: bool,
    },
}

impl Decision {
    /// Whether the object may be shown.
    pub fn visible(self) -> bool {
        matches!(self, Decision::Visible { .. })
    }

    /// Whether showing it must be written to the audit log.
    pub fn audited(self) -> bool {
        matches!(self, Decision::Visible { audited: true })
    }
}

fn contains(list: &[OrgId], org: &str) -> bool {
    list.iter().any(|o| o == org)
}

/// Decides whether `reader` may see an object with this audience.
///
/// ```
/// use watchpost_stix::marking::Tlp;
/// use watchpost_store::access::{decide, Audience, Reader};
/// let group = vec!["cert-vn".to_string(), "cert-la".to_string()];
/// let amber = Audience { owner: "cert-vn", tlp: Some(Tlp::Amber), collection_default: Tlp::Green,
///                        sharing_group: &group, recipients: &[], addressed: false };
/// assert!(decide(&Reader::Member("cert-la".into()), &amber).audited());
/// assert!(!decide(&Reader::Member("cert-kh".into()), &amber).visible());
/// ```
pub fn decide(reader: &Reader, audience: &Audience<'_>) -> Decision {
    let org = reader.org();
    let tlp = audience.effective_tlp();
    if org == audience.owner && matches!(reader, Reader::Member(_)) {
        return Decision::Visible { audited: false };
    }
    let allowed = match (tlp, reader) {
        (Tlp::Clear | Tlp::Green, _) => true,
        (Tlp::Amber, _) => contains(audience.sharing_group, org),
        (Tlp::AmberStrict, Reader::Member(_)) => contains(audience.sharing_group, org),
        (Tlp::Red, Reader::Peer(_)) => audience.addressed && contains(audience.recipients, org),
        (Tlp::AmberStrict, Reader::Peer(_)) => false,
        (Tlp::Red, Reader::Member(_)) => contains(audience.recipients, org),
    };
    if !allowed {
        return Decision::Hidden;
    }
    Decision::Visible {
        audited: tlp >= Tlp::Amber && org != audience.owner,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "cert-vn";

    fn check(tlp: Option<Tlp>, reader: Reader, expected: Decision) {
        check_addressed(tlp, false, reader, expected)
    }

    fn check_addressed(tlp: Option<Tlp>, addressed: bool, reader: Reader, expected: Decision) {
        let group = vec![OWNER.to_string(), "cert-la".to_string()];
        let recipients = vec!["police-kh".to_string()];
        let audience = Audience {
            owner: OWNER,
            tlp,
            collection_default: Tlp::Amber,
            sharing_group: &group,
            recipients: &recipients,
            addressed,
        };
        assert_eq!(decide(&reader, &audience), expected, "{tlp:?} {reader:?}");
    }

    use Decision::{Hidden, Visible};
    fn member(o: &str) -> Reader {
        Reader::Member(o.into())
    }
    fn peer(o: &str) -> Reader {
        Reader::Peer(o.into())
    }
    const SHOWN: Decision = Visible { audited: false };
    const LOGGED: Decision = Visible { audited: true };

    #[test]
    fn clear_and_green_reach_everyone() {
        for tlp in [Tlp::Clear, Tlp::Green] {
            check(Some(tlp), member("anyone"), SHOWN);
            check(Some(tlp), peer("anyone"), SHOWN);
        }
    }

    #[test]
    fn amber_reaches_the_sharing_group_and_is_audited() {
        check(Some(Tlp::Amber), member("cert-la"), LOGGED);
        check(Some(Tlp::Amber), member("cert-kh"), Hidden);
        check(Some(Tlp::Amber), peer("cert-la"), LOGGED);
        check(Some(Tlp::Amber), peer("cert-kh"), Hidden);
        check(Some(Tlp::Amber), member(OWNER), SHOWN);
    }

    #[test]
    fn amber_strict_and_red_never_leave_the_hub() {
        check(Some(Tlp::AmberStrict), member("cert-la"), LOGGED);
        check(Some(Tlp::AmberStrict), peer("cert-la"), Hidden);
        check(Some(Tlp::AmberStrict), peer(OWNER), Hidden);
        check(Some(Tlp::Red), member("police-kh"), LOGGED);
        check(Some(Tlp::Red), member("cert-la"), Hidden);
        check(Some(Tlp::Red), peer("police-kh"), Hidden);
        check(Some(Tlp::Red), member(OWNER), SHOWN);
    }

    #[test]
    fn a_red_request_reaches_the_peer_it_is_addressed_to_and_no_other() {
        assert!(addressed(
            "x-watchpost-request--6f1b1c2e-4d1a-4b8e-9d7a-0b6c4c2f1a11"
        ));
        assert!(!addressed(
            "indicator--6f1b1c2e-4d1a-4b8e-9d7a-0b6c4c2f1a11"
        ));
        check_addressed(Some(Tlp::Red), true, peer("police-kh"), LOGGED);
        check_addressed(Some(Tlp::Red), true, peer("cert-la"), Hidden);
        check_addressed(Some(Tlp::AmberStrict), true, peer("police-kh"), Hidden);
    }

    #[test]
    fn unmarked_objects_take_the_collection_default() {
        check(None, member("cert-kh"), Hidden);
        check(None, member("cert-la"), LOGGED);
    }
}
