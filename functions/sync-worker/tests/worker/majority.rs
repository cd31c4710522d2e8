//! The majority-failure email: more than half of a profile's mailboxes failing within the
//! hour → one email to the profile owner, through EWS from the service account.

use exsync_domain::mailbox::IncomingTrackingOption;
use exsync_domain::ports::ConfigStore;
use exsync_domain::sync::job::PollReason;
use exsync_ews_sim::store::DistinguishedFolder;
use exsync_integration_tests::{NOBODY, SERVICE_MAILBOX};

use crate::support::{ALICE, CAROL, World};

/// The subject the majority-failure email carries.
const SUBJECT: &str = "most mailboxes of the profile";

async fn alert_owner_on_majority_failure(w: &World) {
    let mut p = w.stored_profile().await;
    let expected = p.version;
    p.alert_owner_on_majority_failure = true;
    p.version += 1;
    ConfigStore::update_profile(&w.store, &p, expected)
        .await
        .unwrap();
}

/// Majority-failure emails the service account has sent.
fn emails_to_the_owner(w: &World) -> usize {
    w.sim
        .exchange()
        .items(SERVICE_MAILBOX, DistinguishedFolder::SentItems)
        .unwrap()
        .into_iter()
        .filter(|i| i.subject.as_deref().is_some_and(|s| s.contains(SUBJECT)))
        .filter(|i| {
            i.to.iter()
                .any(|a| a.address == w.profile.owner.email.as_str())
        })
        .count()
}

/// Polls each mailbox once through the function handler.
async fn poll_each(w: &World, engine: &exsync_domain::sync::engine::SyncEngine, emails: &[&str]) {
    for email in emails {
        let m = w.mailbox(email, IncomingTrackingOption::AllEmail).await;
        let r = w.handle(engine, &[w.job(&m, PollReason::Scheduled)]).await;
        assert!(r.batch_item_failures.is_empty());
    }
}

#[tokio::test]
async fn more_than_half_failing_sends_the_owner_one_email_within_the_hour() {
    let w = World::start("majority").await;
    alert_owner_on_majority_failure(&w).await;
    let engine = w.engine();

    // One of three failing is not a majority.
    poll_each(&w, &engine, &[ALICE, CAROL]).await;
    assert_eq!(emails_to_the_owner(&w), 0);
    // Two of three is.
    poll_each(&w, &engine, &[NOBODY]).await;
    assert_eq!(emails_to_the_owner(&w), 1);
    assert!(w.stored_profile().await.last_majority_alert_at.is_some());

    // Another failure ten minutes later: still most of them, but the hour is not over.
    w.clock.advance(time::Duration::minutes(10));
    poll_each(&w, &engine, &["ghost@contoso.test"]).await;
    assert_eq!(emails_to_the_owner(&w), 1);
}

#[tokio::test]
async fn no_email_when_the_profile_does_not_ask_for_it() {
    let w = World::start("majority-off").await;
    let engine = w.engine();

    poll_each(&w, &engine, &[ALICE, CAROL, NOBODY]).await;

    assert_eq!(emails_to_the_owner(&w), 0);
    assert_eq!(w.stored_profile().await.last_majority_alert_at, None);
}
