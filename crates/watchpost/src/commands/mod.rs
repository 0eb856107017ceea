//! One module per subcommand.

pub mod bench;
pub mod bench_match;
pub mod indicators;
pub mod pattern;
pub mod stix;
