//! The EWS URL with Autodiscover: discovered once and cached on the mailbox, and found
//! again when a cached URL fails at profile level, instead of opening the circuit.

use exsync_domain::exchange::ExchangeEnvironment;
use exsync_domain::mailbox::{IncomingTrackingOption, Mailbox};
use exsync_domain::ports::ConfigStore;
use exsync_domain::profile::Circuit;
use exsync_domain::sync::engine::{EngineOptions, SyncEngine};
use exsync_ews_sim::AutodiscoverBehavior;
use exsync_integration_tests::DOMAIN;

use crate::support::{ALICE, Delivery, MAIL_HOST, PROFILE_OWNER, World};

/// The world's profile switched to Autodiscover, and an engine whose environment sends the
/// organisation's host names to the simulator (and `stale.<domain>` nowhere).
async fn discovering(w: &World) -> SyncEngine {
    let mut p = w.stored_profile().await;
    p.use_autodiscover = true;
    p.incoming_ews_url = None;
    p.version += 1;
    ConfigStore::update_profile(&w.store, &p, p.version - 1)
        .await
        .unwrap();
    let mut env: ExchangeEnvironment = w.exchange.clone();
    for host in [
        DOMAIN.to_owned(),
        format!("autodiscover.{DOMAIN}"),
        MAIL_HOST.to_owned(),
    ] {
        env.connect_overrides.insert(&host, 443, w.sim.https_addr());
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    env.connect_overrides
        .insert(&format!("stale.{DOMAIN}"), 443, closed);
    SyncEngine::new(w.ports(), env, EngineOptions::default())
}

async fn with_cached_url(w: &World, m: &Mailbox, url: &str) {
    let mut m = w.reload(m).await;
    m.scheduler.cached_ews_url = Some(url.to_owned());
    m.version += 1;
    ConfigStore::update_mailbox(&w.store, &m, m.version - 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_discovered_ews_url_is_cached_on_the_mailbox_and_used_without_autodiscover() {
    let w = World::start("ad-cache").await;
    let engine = discovering(&w).await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.poll(&engine, &m).await;
    let cached = w.reload(&m).await.scheduler.cached_ews_url;
    assert!(cached.is_some(), "the URL is kept on the mailbox");

    for host in [DOMAIN.to_owned(), format!("autodiscover.{DOMAIN}")] {
        w.sim
            .set_autodiscover_behavior(&host, AutodiscoverBehavior::NotFound);
    }
    let mid = w.deliver(ALICE, Delivery::default());
    w.poll(&engine, &m).await;
    assert!(w.email(&mid).await.is_some(), "synced with the cached URL");
    assert_eq!(w.reload(&m).await.scheduler.cached_ews_url, cached);
}

#[tokio::test]
async fn a_cached_url_that_fails_is_rediscovered_instead_of_opening_the_circuit() {
    let w = World::start("ad-stale").await;
    let engine = discovering(&w).await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let stale = format!("https://stale.{DOMAIN}/EWS/Exchange.asmx");
    with_cached_url(&w, &m, &stale).await;
    let mid = w.deliver(ALICE, Delivery::default());
    w.poll(&engine, &w.reload(&m).await).await;

    assert!(w.email(&mid).await.is_some());
    let cached = w.reload(&m).await.scheduler.cached_ews_url;
    assert!(
        cached.is_some_and(|u| u != stale),
        "the new URL replaced the stale one"
    );
    assert_eq!(w.stored_profile().await.circuit, Circuit::Closed);
    assert!(w.alerts_of(PROFILE_OWNER).await.is_empty());
}
