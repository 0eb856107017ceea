//! One module per subcommand.

pub mod admin;
pub mod bench;
pub mod bench_console;
pub mod bench_match;
pub mod bench_taxii;
pub mod bench_watch;
pub mod directory;
pub mod export;
pub mod extract;
pub mod feed;
pub mod follow;
pub mod hub;
pub mod import_list;
pub mod indicator;
pub mod indicators;
pub mod live;
pub mod matching;
pub mod misp_feed;
pub mod misp_import;
pub mod pattern;
pub mod sightings;
pub mod stix;
pub mod warnings;
pub mod watch;
pub mod watch_follow;
pub mod watch_hub;
