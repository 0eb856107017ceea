//! `watchpost-warn`: the constituency directory (whose network is it?), the warning lifecycle
//! and the delivery channels (webhook, SMTP), with acknowledgement and escalation.
//!
//! Not built yet (issue 6). It may depend on `watchpost-stix` and `watchpost-store`.
