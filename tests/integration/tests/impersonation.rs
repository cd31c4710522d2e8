//! ApplicationImpersonation as the simulator enforces it: which mailboxes the service account
//! may act as, and how a refusal is classified (the mailbox is disabled, not the profile).

use exsync_ews::transport::AuthScheme;
use exsync_ews::{ErrorClass, EwsError, ResponseCode};
use exsync_integration_tests::{ALICE, CAROL, NOBODY, SERVICE_USER, Sim, call_err, get_inbox};

/// The code of a refusal that must come as a SOAP fault: the impersonation header, not any
/// one folder, is at fault.
fn fault_code(err: &EwsError) -> &ResponseCode {
    assert!(matches!(err, EwsError::Fault(_)), "{err:?}");
    err.response_code().expect("a fault carries its code")
}

#[tokio::test]
async fn impersonating_a_mailbox_inside_the_grant_succeeds() {
    let sim = Sim::start();
    let client = sim.client(AuthScheme::Ntlm);

    let response = client
        .call(
            Some(ALICE),
            &get_inbox(),
            exsync_integration_tests::deadline(),
        )
        .await
        .unwrap();

    assert!(matches!(response.body.as_slice(), [Ok(_)]), "{response:?}");
}

#[tokio::test]
async fn impersonating_a_mailbox_outside_the_grant_is_denied_and_mailbox_permanent() {
    let sim = Sim::start();
    let client = sim.client(AuthScheme::Ntlm);

    let err = call_err(&client, Some(CAROL), &get_inbox()).await;

    assert_eq!(fault_code(&err), &ResponseCode::ErrorImpersonateUserDenied);
    assert_eq!(err.class(), ErrorClass::MailboxPermanent);
}

#[tokio::test]
async fn revoking_the_grant_turns_an_allowed_mailbox_into_a_denied_one() {
    let sim = Sim::start();
    let client = sim.client(AuthScheme::Ntlm);
    client
        .call(
            Some(ALICE),
            &get_inbox(),
            exsync_integration_tests::deadline(),
        )
        .await
        .unwrap();

    sim.directory_mut().revoke_mailbox(SERVICE_USER, ALICE);
    let err = call_err(&client, Some(ALICE), &get_inbox()).await;

    assert_eq!(fault_code(&err), &ResponseCode::ErrorImpersonateUserDenied);
    assert_eq!(err.class(), ErrorClass::MailboxPermanent);
}

#[tokio::test]
async fn impersonating_an_address_without_a_mailbox_is_non_existent_and_mailbox_permanent() {
    let sim = Sim::start();
    let client = sim.client(AuthScheme::Ntlm);

    let err = call_err(&client, Some(NOBODY), &get_inbox()).await;

    assert_eq!(fault_code(&err), &ResponseCode::ErrorNonExistentMailbox);
    assert_eq!(err.class(), ErrorClass::MailboxPermanent);
}
