//! The hub's 24/7 desk, run by `serve`: takes in the requests peer hubs send
//! (`watchpost_coop::hub::intake`) and runs the requests' deadline clocks
//! (`watchpost_coop::clock`), raising each reminder once as a warning that the courier
//! delivers and escalates. `watchpost request clocks` runs one round of the clocks by hand.

use anyhow::Result;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use watchpost_coop::{clock, hub};
use watchpost_store::{Micros, RequestReminder, SqlStore, Store};
use watchpost_warn::{load_directory, Config, Warnings};

/// How often the clocks are read.
const CLOCK_EVERY: Micros = 10_000_000;

/// Forever: intake every second, clocks every ten.
pub async fn run(store: Arc<SqlStore>, config: Config) {
    let mut clocks_read: Micros = 0;
    loop {
        match hub::intake(store.as_ref()).await {
            Ok(done) => {
                for id in &done.updated {
                    tracing::info!(request = id, "took in a request's new events from a peer");
                }
                for (peer, id, e) in &done.refused {
                    tracing::warn!(peer, request = id, "refused a request from a peer: {e}");
                }
            }
            Err(e) => tracing::warn!("cannot take in requests from peers: {e}"),
        }
        let now = watchpost_stix::Timestamp::now().unix_micros();
        if now - clocks_read >= CLOCK_EVERY {
            clocks_read = now;
            if let Err(e) = clocks(&store, &config, now).await {
                tracing::warn!("cannot run the requests' deadline clocks: {e:#}");
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Raises the reminders due at `now` that were not raised before, for this hub's own
/// organisations (a peer's hub reminds its own); returns them. The warnings are raised at the
/// present time, whatever `now` the clocks were read at, so their deliveries go out at once.
pub async fn clocks(
    store: &Arc<SqlStore>,
    config: &Config,
    now: Micros,
) -> Result<Vec<RequestReminder>> {
    let done: HashSet<(String, String, String)> = store
        .request_reminders()
        .await?
        .into_iter()
        .map(|r| (r.request_id, r.kind, r.org))
        .collect();
    let peers: HashSet<String> = store.peers().await?.into_iter().map(|p| p.name).collect();
    let mut warnings: Option<Warnings> = None;
    let mut raised = Vec::new();
    let present = watchpost_stix::Timestamp::now().unix_micros();
    for row in store.open_requests_for_hub().await? {
        let Some(case) = hub::load(store.as_ref(), &row.id).await? else {
            continue;
        };
        for due in clock::due(&case, now) {
            let key = (row.id.clone(), due.kind.clone(), due.org.clone());
            if peers.contains(&due.org) || done.contains(&key) {
                continue;
            }
            let warnings = match &mut warnings {
                Some(w) => w,
                None => {
                    let directory = load_directory(store.as_ref()).await?;
                    let w =
                        Warnings::new(store.clone() as Arc<dyn Store>, directory, config.clone());
                    warnings.insert(w)
                }
            };
            let subject = format!("{}/{}", row.id, due.kind);
            let notice = watchpost_warn::Notice {
                subject: &subject,
                org: &due.org,
                severity: due.severity,
                text: &due.text,
                now: present,
            };
            let warning = warnings.notify(notice).await?;
            let reminder = RequestReminder {
                request_id: row.id.clone(),
                kind: due.kind,
                org: due.org,
                warning_id: warning.warning.id,
                raised: present,
            };
            store.record_request_reminder(reminder.clone()).await?;
            raised.push(reminder);
        }
    }
    settle(store, now).await?;
    Ok(raised)
}

/// Acknowledges, as the hub, the open warnings of reminders whose cause was dealt with, so
/// they stop escalating.
async fn settle(store: &Arc<SqlStore>, now: Micros) -> Result<()> {
    for r in store.open_request_reminders().await? {
        let Some(case) = hub::load(store.as_ref(), &r.request_id).await? else {
            continue;
        };
        if clock::settled(&r.kind, &case) {
            let by = format!("request desk: the request is {}", case.state);
            store.acknowledge_warning(&r.warning_id, &by, now).await?;
        }
    }
    Ok(())
}
