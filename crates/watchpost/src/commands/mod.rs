//! One module per subcommand.

pub mod bench;
pub mod pattern;
pub mod stix;
