//! `request`: 24/7 requests between focal points — write, list, show, acknowledge, answer,
//! close, extend and verify them. Each command acts for an organisation (`--org`) and goes
//! through the store's visibility rules; `verify` and the requester's commands without
//! `--org` act as the hub's operator.

use super::admin::{runtime, DbArg};
use anyhow::{anyhow, bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use watchpost_coop::chain::{self, Case, Record};
use watchpost_coop::hub;
use watchpost_coop::request::{Attachment, Identifier, OffsetTime, Request, RequestType, Urgency};
use watchpost_coop::state::Event;
use watchpost_stix::Timestamp;
use watchpost_store::{timestamp_text, Caller, RequestAttachment, Role, SqlStore, Store};

#[derive(Subcommand)]
pub enum RequestCommand {
    /// Write a request and send it (unless --draft).
    New(Box<NewArgs>),
    /// Send a draft.
    Send {
        id: String,
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// The requests an organisation sent or received, newest first.
    List {
        #[arg(long)]
        org: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// A request and its timeline.
    Show {
        id: String,
        /// Read as this organisation (default: as the hub's operator).
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Acknowledge a received request (the receiving organisation).
    Ack {
        id: String,
        #[arg(long)]
        org: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Record that work on a request has started (the receiving organisation).
    Start {
        id: String,
        #[arg(long)]
        org: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Answer an acknowledged request (the receiving organisation).
    Answer {
        id: String,
        #[arg(long)]
        org: String,
        #[arg(long, value_enum)]
        outcome: Outcome,
        /// Why (required for a refusal).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Close an answered request (the requesting organisation).
    Close {
        id: String,
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Add a note to a request's record (either organisation); it reaches the other hub too.
    Note {
        id: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        text: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Extend a preservation until a new expiry (a time with its offset).
    Extend {
        id: String,
        #[arg(long)]
        until: OffsetTime,
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Raise the reminders due on the requests' deadline clocks (what `serve` does every ten
    /// seconds), each once, as warnings to the organisations' focal points.
    Clocks {
        /// Read the clocks at this time (a STIX timestamp) instead of now.
        #[arg(long, value_parser = stix_time)]
        now: Option<Timestamp>,
        /// The warning settings (escalation delay); see `watchpost serve --warn-config`.
        #[arg(long, env = "WATCHPOST_WARN_CONFIG")]
        warn_config: Option<PathBuf>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Recompute a request's audit chain: exit 0 if it verifies, 1 naming the first bad event.
    Verify {
        id: String,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Outcome {
    Fulfilled,
    PartiallyFulfilled,
    Refused,
}

#[derive(clap::Args)]
pub struct NewArgs {
    /// preservation, disclosure, mutual-legal-assistance or emergency.
    #[arg(long = "type")]
    kind: RequestType,
    /// The requesting organisation.
    #[arg(long)]
    from: String,
    /// The receiving organisation.
    #[arg(long)]
    to: String,
    /// The requesting authority (default: the requesting organisation).
    #[arg(long)]
    authority: Option<String>,
    /// The case reference.
    #[arg(long)]
    case: String,
    /// The legal basis.
    #[arg(long)]
    legal_basis: String,
    /// ADDRESS[:PORT]@TIME, e.g. 203.0.113.5:443@2026-11-23T10:00:00+07:00 (repeatable).
    #[arg(long, value_parser = Identifier::parse_ip)]
    ip: Vec<Identifier>,
    /// An account (repeatable).
    #[arg(long)]
    account: Vec<String>,
    /// A domain name (repeatable).
    #[arg(long)]
    domain: Vec<String>,
    /// An e-mail address (repeatable).
    #[arg(long)]
    email: Vec<String>,
    /// A telephone number (repeatable).
    #[arg(long)]
    phone: Vec<String>,
    /// Who holds the data.
    #[arg(long)]
    data_holder: Option<String>,
    /// routine, urgent or immediate.
    #[arg(long, value_enum, default_value = "routine")]
    urgency: UrgencyArg,
    /// The answer is needed by then (a time with its offset).
    #[arg(long)]
    deadline: Option<OffsetTime>,
    /// A file to send with the request (repeatable).
    #[arg(long)]
    attach: Vec<PathBuf>,
    /// Keep it as a draft; `request send` sends it.
    #[arg(long)]
    draft: bool,
    #[command(flatten)]
    db: DbArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum UrgencyArg {
    Routine,
    Urgent,
    Immediate,
}

pub fn run(cmd: RequestCommand) -> Result<ExitCode> {
    runtime()?.block_on(async {
        match cmd {
            RequestCommand::New(args) => new(*args).await,
            RequestCommand::Send { id, org, db } => {
                let store = db.open().await?;
                let mut case = load(&store, org.as_deref(), &id).await?;
                let actor = actor(org.as_deref(), &case.request.from_org);
                check_side(org.as_deref(), &case.request.from_org, "send")?;
                hub::check_local(store.as_ref(), &case.request.from_org).await?;
                let head = case.records.len();
                send(&store, &mut case, &actor).await?;
                persist(&store, &case, head).await?;
                let to = relay_to(&store, &case).await?;
                println!("{id}\t{}{to}", case.state);
                Ok(ExitCode::SUCCESS)
            }
            RequestCommand::List { org, db } => {
                let store = db.open().await?;
                let caller = caller(&store, &org).await?;
                for r in store.visible_requests(&caller).await? {
                    println!(
                        "{}\t{}\t{}\t{} -> {}\t{}\t{}",
                        r.id,
                        r.kind,
                        r.state,
                        r.from_org,
                        r.to_org,
                        r.deadline.as_deref().unwrap_or("-"),
                        timestamp_text(r.updated)
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            RequestCommand::Show { id, org, db } => {
                let store = db.open().await?;
                let case = load(&store, org.as_deref(), &id).await?;
                show(&case);
                Ok(ExitCode::SUCCESS)
            }
            RequestCommand::Ack { id, org, db } => {
                transition(db, &id, Some(&org), Side::Recipient, Event::Acknowledge).await
            }
            RequestCommand::Start { id, org, db } => {
                transition(db, &id, Some(&org), Side::Recipient, Event::Start).await
            }
            RequestCommand::Answer {
                id,
                org,
                outcome,
                reason,
                db,
            } => {
                let event = match outcome {
                    Outcome::Fulfilled => Event::Fulfil,
                    Outcome::PartiallyFulfilled => Event::FulfilPartially,
                    Outcome::Refused => Event::Refuse {
                        reason: reason.unwrap_or_default(),
                    },
                };
                transition(db, &id, Some(&org), Side::Recipient, event).await
            }
            RequestCommand::Close { id, org, db } => {
                transition(db, &id, org.as_deref(), Side::Requester, Event::Close).await
            }
            RequestCommand::Note { id, org, text, db } => note(db, &id, &org, text).await,
            RequestCommand::Extend { id, until, org, db } => {
                let event = Event::Extend { until };
                transition(db, &id, org.as_deref(), Side::Requester, event).await
            }
            RequestCommand::Clocks {
                now,
                warn_config,
                db,
            } => {
                let store = db.open().await?;
                let config = super::watch_hub::warn_config(warn_config.as_deref())?;
                let now = now.unwrap_or_else(Timestamp::now).unix_micros();
                for r in super::request_desk::clocks(&store, &config, now).await? {
                    println!(
                        "{}\t{}\t{}\twarning {}",
                        r.request_id, r.kind, r.org, r.warning_id
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            RequestCommand::Verify { id, db } => {
                let store = db.open().await?;
                let (_, rows) = store
                    .request_for_hub(&id)
                    .await?
                    .ok_or_else(|| anyhow!("request {id} was not found"))?;
                let records: Vec<Record> = rows.iter().map(Record::from_store).collect();
                match chain::verify(&records) {
                    Ok(n) => {
                        println!("chain of {n} events verifies");
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => {
                        println!("the chain of {id} does not verify: {e}");
                        Ok(ExitCode::from(1))
                    }
                }
            }
        }
    })
}

async fn new(args: NewArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    let mut identifiers = args.ip;
    identifiers.extend(
        (args
            .account
            .into_iter()
            .map(|value| Identifier::Account { value }))
        .chain(
            args.domain
                .into_iter()
                .map(|value| Identifier::Domain { value }),
        )
        .chain(
            args.email
                .into_iter()
                .map(|value| Identifier::Email { value }),
        )
        .chain(
            args.phone
                .into_iter()
                .map(|value| Identifier::Phone { value }),
        ),
    );
    let mut files = Vec::new();
    for path in &args.attach {
        let content =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        files.push((Attachment::of(&name, &content), content));
    }
    let request = Request {
        id: Request::new_id(),
        request_type: args.kind,
        requesting_authority: args.authority.unwrap_or_else(|| args.from.clone()),
        case_reference: args.case,
        legal_basis: args.legal_basis,
        identifiers,
        data_holder: args.data_holder,
        urgency: match args.urgency {
            UrgencyArg::Routine => Urgency::Routine,
            UrgencyArg::Urgent => Urgency::Urgent,
            UrgencyArg::Immediate => Urgency::Immediate,
        },
        confidentiality: Default::default(),
        deadline: args.deadline,
        attachments: files.iter().map(|(a, _)| a.clone()).collect(),
        from_org: args.from,
        to_org: args.to,
    };
    request.check()?;
    let orgs = store.orgs().await?;
    for name in [&request.from_org, &request.to_org] {
        if !orgs.iter().any(|o| &o.name == name) {
            bail!("organisation {name} was not found: add it with `watchpost org add` first");
        }
    }
    hub::check_local(store.as_ref(), &request.from_org).await?;
    let actor = actor(Some(&request.from_org), &request.from_org);
    let mut case = Case::create(request, &stamp(), &actor);
    if !args.draft {
        send(&store, &mut case, &actor).await?;
    }
    persist(&store, &case, 0).await?;
    for (a, content) in files {
        store
            .add_request_attachment(
                &case.request.id,
                RequestAttachment {
                    sha256: a.sha256,
                    name: a.name,
                    size: i64::try_from(a.size).unwrap_or(i64::MAX),
                    content,
                },
            )
            .await?;
    }
    // Published once the files are stored: the version that sends the request carries them.
    let to = relay_to(&store, &case).await?;
    println!("{}\t{}{to}", case.request.id, case.state);
    Ok(ExitCode::SUCCESS)
}

/// Sends the case. On one hub the receiving organisation has the request at once; when it is
/// a peer's, its hub records the receipt when the request arrives there.
async fn send(store: &SqlStore, case: &mut Case, actor: &str) -> Result<()> {
    case.apply(Event::Send, &stamp(), actor)?;
    if hub::counterpart(store, case).await?.is_none() {
        let receiver = format!("{}/hub", case.request.to_org);
        case.apply(Event::Receive, &stamp(), &receiver)?;
    }
    Ok(())
}

/// Publishes the case's new state for the other organisation's hub, when it is a peer's;
/// returns what to add to the command's line.
async fn relay_to(store: &SqlStore, case: &Case) -> Result<String> {
    Ok(peer_suffix(hub::publish(store, case).await?))
}

fn peer_suffix(peer: Option<String>) -> String {
    peer.map(|p| format!("\t(to the hub of {p})"))
        .unwrap_or_default()
}

#[derive(Clone, Copy)]
enum Side {
    Requester,
    Recipient,
}

async fn transition(
    db: DbArg,
    id: &str,
    org: Option<&str>,
    side: Side,
    event: Event,
) -> Result<ExitCode> {
    let store = db.open().await?;
    let mut case = load(&store, org, id).await?;
    let party = match side {
        Side::Requester => case.request.from_org.clone(),
        Side::Recipient => case.request.to_org.clone(),
    };
    check_side(org, &party, "do this")?;
    let actor = actor(org, &party);
    let to = hub::record(store.as_ref(), &mut case, &party, |c| {
        c.apply(event, &stamp(), &actor).map(drop)
    })
    .await?;
    println!("{id}\t{}{}", case.state, peer_suffix(to));
    Ok(ExitCode::SUCCESS)
}

async fn note(db: DbArg, id: &str, org: &str, text: String) -> Result<ExitCode> {
    if text.trim().is_empty() {
        bail!("a note needs a text");
    }
    let store = db.open().await?;
    let mut case = load(&store, Some(org), id).await?;
    let entry = chain::Entry::Note { text, via: None };
    let actor = actor(Some(org), org);
    let to = hub::record(store.as_ref(), &mut case, org, |c| {
        c.push(entry, &stamp(), &actor).map(drop)
    })
    .await?;
    println!("{id}\t{}\tnote added{}", case.state, peer_suffix(to));
    Ok(ExitCode::SUCCESS)
}

fn check_side(org: Option<&str>, party: &str, what: &str) -> Result<()> {
    match org {
        Some(org) if org != party => bail!("only {party} can {what} on this request, not {org}"),
        _ => Ok(()),
    }
}

async fn persist(store: &SqlStore, case: &Case, from: usize) -> Result<()> {
    Ok(hub::persist(store, case, from).await?)
}

async fn caller(store: &SqlStore, org: &str) -> Result<Caller> {
    let found = store
        .orgs()
        .await?
        .into_iter()
        .find(|o| o.name == org)
        .ok_or_else(|| anyhow!("organisation {org} was not found"))?;
    Ok(Caller {
        user: format!("{org}/cli"),
        org: found.id,
        role: Role::Analyst,
    })
}

async fn load(store: &SqlStore, org: Option<&str>, id: &str) -> Result<Case> {
    let found = match org {
        Some(org) => {
            let caller = caller(store, org).await?;
            store.visible_request(&caller, id).await?
        }
        None => store.request_for_hub(id).await?,
    };
    let (_, rows) = found.ok_or_else(|| anyhow!("request {id} was not found"))?;
    let case = Case::replay(rows.iter().map(Record::from_store).collect())
        .with_context(|| format!("request {id} cannot be acted on"))?;
    Ok(case)
}

fn actor(org: Option<&str>, default_org: &str) -> String {
    format!("{}/cli", org.unwrap_or(default_org))
}

fn stix_time(text: &str) -> std::result::Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|e| e.to_string())
}

fn stamp() -> String {
    Timestamp::now().to_string()
}

fn show(case: &Case) {
    let r = &case.request;
    println!("{}\t{}\t{}", r.id, r.request_type, case.state);
    println!("from {} to {}", r.from_org, r.to_org);
    println!("authority: {}", r.requesting_authority);
    println!("case: {}", r.case_reference);
    println!("legal basis: {}", r.legal_basis);
    if let Some(d) = &r.deadline {
        println!("deadline: {d}");
    }
    if let Some(until) = &case.preserved_until {
        println!("preserved until: {until}");
    }
    if let Some(reason) = &case.refusal {
        println!("refused: {reason}");
    }
    for i in &r.identifiers {
        println!("identifier: {i}");
    }
    for a in &r.attachments {
        println!(
            "attachment: {} ({} bytes, sha256 {})",
            a.name, a.size, a.sha256
        );
    }
    for rec in &case.records {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            rec.seq, rec.at, rec.actor, rec.kind, rec.body
        );
    }
}
