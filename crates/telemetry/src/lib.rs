//! `watchpost-telemetry`: decoders from sensor formats (Suricata EVE, Zeek JSON/TSV, DNS and
//! proxy logs) to observations, the SCO graphs the pattern engine takes. No matching here.
//!
//! Not built yet (issue 6). It depends only on `watchpost-stix` and does no I/O of its own:
//! callers hand it bytes.
