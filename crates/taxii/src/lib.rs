//! `watchpost-taxii`: the TAXII 2.1 server routes and client (feed polling, hub-to-hub sync).
//!
//! Not built yet (issue 5). It may depend on `watchpost-stix` and `watchpost-store`.
