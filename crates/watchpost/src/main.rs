//! `watchpost`: the command-line entry point. It parses flags, wires the libraries together and
//! reports errors; everything else lives in the library crates (see ARCHITECTURE.md).

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Watchpost: cyber early-warning and threat-intelligence exchange hub.
#[derive(Parser)]
#[command(name = "watchpost", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with STIX 2.1 content: validate files, compute SCO identifiers.
    #[command(subcommand)]
    Stix(commands::stix::StixCommand),
    /// Work with STIX patterns: check them, evaluate them against observations.
    #[command(subcommand)]
    Pattern(commands::pattern::PatternCommand),
    /// Measure Watchpost's speed on real or generated inputs.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
    /// Run the hub: the TAXII 2.1 server over the knowledge base.
    Serve(commands::hub::ServeArgs),
    /// Run the hub with demo organisations, users and data (added on first start).
    Demo(commands::hub::DemoArgs),
    /// Member organisations.
    #[command(subcommand)]
    Org(commands::admin::OrgCommand),
    /// Users of member organisations.
    #[command(subcommand)]
    User(commands::admin::UserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(commands::admin::TokenCommand),
    /// Sharing groups.
    #[command(subcommand)]
    Group(commands::admin::GroupCommand),
    /// TAXII collections.
    #[command(subcommand)]
    Collection(commands::admin::CollectionCommand),
    /// Import STIX 2.1 or MISP event files into a collection.
    Import(commands::admin::ImportArgs),
    /// Export a collection: a MISP event, or the files sensors load.
    #[command(subcommand)]
    Export(commands::export::ExportCommand),
    /// Print the IoCs of a report (IPs, CIDRs, domains, URLs, e-mails, hashes, CVE and ATT&CK
    /// ids, defanged forms included) with their character offsets.
    Extract(commands::extract::ExtractArgs),
    /// Indicators: confirm one that a warning list flagged.
    #[command(subcommand)]
    Indicator(commands::indicator::IndicatorCommand),
    /// List the sightings the matchers stored.
    Sightings(commands::sightings::SightingsArgs),
    /// Warnings raised for the member organisations: list, show, acknowledge.
    #[command(subcommand)]
    Warnings(commands::warnings::WarningsCommand),
    /// Match sensor telemetry (Suricata EVE, Zeek logs) against indicators.
    Watch(commands::watch::WatchArgs),
    /// Remote TAXII 2.1 collections polled into this hub.
    #[command(subcommand)]
    Feed(commands::feed::FeedCommand),
    /// Other hubs this hub exchanges with (federation over TAXII 2.1).
    #[command(subcommand)]
    Peer(commands::peer::PeerCommand),
    /// CACAO 2.0 playbooks shared as STIX courses of action.
    #[command(subcommand)]
    Playbook(commands::playbook::PlaybookCommand),
    /// 24/7 requests between focal points: new, list, show, ack, answer, close, verify.
    #[command(subcommand)]
    Request(commands::request::RequestCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Stix(cmd) => commands::stix::run(cmd),
        Command::Pattern(cmd) => commands::pattern::run(cmd),
        Command::Bench(cmd) => commands::bench::run(cmd),
        Command::Serve(args) => commands::hub::serve(args),
        Command::Demo(args) => commands::hub::demo(args),
        Command::Org(cmd) => commands::admin::org(cmd),
        Command::User(cmd) => commands::admin::user(cmd),
        Command::Token(cmd) => commands::admin::token(cmd),
        Command::Group(cmd) => commands::admin::group(cmd),
        Command::Collection(cmd) => commands::admin::collection(cmd),
        Command::Import(args) => commands::admin::import(args),
        Command::Export(cmd) => commands::export::run(cmd),
        Command::Extract(args) => commands::extract::run(args),
        Command::Indicator(cmd) => commands::indicator::run(cmd),
        Command::Feed(cmd) => commands::feed::run(cmd),
        Command::Peer(cmd) => commands::peer::run(cmd),
        Command::Playbook(cmd) => commands::playbook::run(cmd),
        Command::Watch(args) => commands::watch::run(args),
        Command::Sightings(args) => commands::sightings::run(args),
        Command::Warnings(cmd) => commands::warnings::run(cmd),
        Command::Request(cmd) => commands::request::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`watchpost … | head`) is not an error worth reporting.
            if err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("watchpost: {err:#}");
            ExitCode::from(2)
        }
    }
}
