//! SyncFolderItems as exsync drives it: paging with MaxChangesReturned until
//! IncludesLastItemInRange, continuing from a stored state, and the full resync after the
//! server invalidated that state.

use std::collections::HashSet;

use exsync_ews::operations::MaxChangesReturned;
use exsync_ews::transport::AuthScheme;
use exsync_ews::types::DistinguishedFolderName;
use exsync_ews::{ErrorClass, ResponseCode};
use exsync_integration_tests::{ALICE, Sim, call_err, sync_inbox, sync_page};

/// Enough pages for every test here; reaching it means the server never said "last".
const MAX_PAGES: usize = 20;

#[tokio::test]
async fn syncing_1500_items_takes_three_pages_and_leaves_an_up_to_date_state() {
    let sim = Sim::start();
    let delivered: HashSet<String> = sim.deliver_messages(ALICE, 1_500).into_iter().collect();
    let client = sim.client(AuthScheme::Ntlm);

    let full = sync_inbox(&client, ALICE, None, MaxChangesReturned::MAX, MAX_PAGES)
        .await
        .unwrap();

    assert_eq!(full.pages, 3, "512 + 512 + 476");
    assert_eq!(full.created.len(), 1_500);
    assert_eq!(full.created_set(), delivered, "every item exactly once");
    assert!(full.other_changes.is_empty(), "{:?}", full.other_changes);

    let again = sync_inbox(
        &client,
        ALICE,
        Some(full.state),
        MaxChangesReturned::MAX,
        MAX_PAGES,
    )
    .await
    .unwrap();
    assert_eq!(again.pages, 1);
    assert!(again.created.is_empty(), "{} creates", again.created.len());
    assert!(again.other_changes.is_empty(), "{:?}", again.other_changes);
}

#[tokio::test]
async fn a_sync_state_the_server_invalidated_is_sync_state_invalid() {
    let sim = Sim::start();
    sim.deliver_messages(ALICE, 5);
    let client = sim.client(AuthScheme::Ntlm);
    let first = sync_inbox(&client, ALICE, None, MaxChangesReturned::MAX, MAX_PAGES)
        .await
        .unwrap();

    sim.exchange().invalidate_sync_states(ALICE).unwrap();
    let err = call_err(
        &client,
        Some(ALICE),
        &sync_page(
            DistinguishedFolderName::Inbox,
            Some(first.state),
            MaxChangesReturned::MAX,
        ),
    )
    .await;

    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorInvalidSyncStateData)
    );
    assert_eq!(err.class(), ErrorClass::SyncStateInvalid);
}

#[tokio::test]
async fn after_an_invalid_sync_state_a_sync_from_no_state_returns_every_item_once() {
    let sim = Sim::start();
    let delivered: HashSet<String> = sim.deliver_messages(ALICE, 7).into_iter().collect();
    let client = sim.client(AuthScheme::Ntlm);
    let small = MaxChangesReturned::new(3).unwrap();
    let first = sync_inbox(&client, ALICE, None, small, MAX_PAGES)
        .await
        .unwrap();
    sim.exchange().invalidate_sync_states(ALICE).unwrap();
    let stale = call_err(
        &client,
        Some(ALICE),
        &sync_page(DistinguishedFolderName::Inbox, Some(first.state), small),
    )
    .await;
    assert_eq!(stale.class(), ErrorClass::SyncStateInvalid);

    let resync = sync_inbox(&client, ALICE, None, small, MAX_PAGES)
        .await
        .unwrap();

    assert_eq!(resync.created.len(), 7);
    assert_eq!(resync.created_set(), delivered);
    assert_eq!(resync.pages, 3, "3 + 3 + 1");
}
