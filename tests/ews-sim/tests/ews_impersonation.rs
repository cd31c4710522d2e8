//! Who may act on which mailbox: ExchangeImpersonation, the logon's own mailbox, and
//! mailboxes named inside the request.

mod ews_support;

use ews_support::*;
use exsync_ews_sim::ews::IncomingMessage;
use exsync_ews_sim::store::EmailAddress;

fn get_inbox(mailbox: Option<&str>) -> String {
    format!(
        "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>{}</m:FolderIds></m:GetFolder>",
        dfolder("inbox", mailbox)
    )
}

#[test]
fn an_impersonating_service_account_acts_on_the_impersonated_mailbox() {
    let h = Harness::new();
    let reply = h.as_svc(ALICE, &get_inbox(None));
    assert_eq!(codes(&reply), ["NoError"]);
    // Alice's Inbox holds her seed message; Bob's is empty.
    assert_eq!(text(&reply.body, "TotalCount").as_deref(), Some("1"));
    let bob = h.as_svc(BOB, &get_inbox(None));
    assert_eq!(text(&bob.body, "TotalCount").as_deref(), Some("0"));
}

#[test]
fn impersonating_a_mailbox_outside_the_grant_is_a_denied_fault() {
    let h = Harness::new();
    let reply = h.as_svc(CAROL, &get_inbox(None));
    assert_eq!(reply.status, 500);
    assert_eq!(codes(&reply), ["ErrorImpersonateUserDenied"]);
    assert_eq!(
        text(&reply.body, "faultcode").as_deref(),
        Some("a:ErrorImpersonateUserDenied")
    );
}

#[test]
fn an_account_without_any_grant_cannot_impersonate_even_itself() {
    let h = Harness::new();
    let reply = h.raw("carol", &envelope(Some(CAROL), &get_inbox(None)));
    assert_eq!(codes(&reply), ["ErrorImpersonateUserDenied"]);
}

#[test]
fn impersonating_an_address_without_a_mailbox_is_a_non_existent_mailbox_fault() {
    let h = Harness::new();
    let reply = h.as_svc(NOBODY, &get_inbox(None));
    assert_eq!(reply.status, 500);
    assert_eq!(codes(&reply), ["ErrorNonExistentMailbox"]);
}

#[test]
fn a_revoked_grant_takes_effect_on_the_next_request() {
    let mut h = Harness::new();
    assert_eq!(codes(&h.as_svc(ALICE, &get_inbox(None))), ["NoError"]);
    h.directory.revoke_mailbox(SVC, ALICE);
    assert_eq!(
        codes(&h.as_svc(ALICE, &get_inbox(None))),
        ["ErrorImpersonateUserDenied"]
    );
    assert_eq!(codes(&h.as_svc(BOB, &get_inbox(None))), ["NoError"]);
}

#[test]
fn impersonation_by_principal_name_resolves_the_account_mailbox() {
    let h = Harness::new();
    let op = get_inbox(None);
    let body = envelope(None, &op).replace(
        "</soap:Header>",
        "<t:ExchangeImpersonation><t:ConnectingSID><t:PrincipalName>alice@contoso.test</t:PrincipalName></t:ConnectingSID></t:ExchangeImpersonation></soap:Header>",
    );
    let reply = h.raw(SVC, &body);
    assert_eq!(codes(&reply), ["NoError"], "{}", reply.body);
    assert_eq!(text(&reply.body, "TotalCount").as_deref(), Some("1"));
}

#[test]
fn without_impersonation_a_user_acts_on_their_own_mailbox() {
    let h = Harness::new();
    let reply = h.as_user("alice", &get_inbox(None));
    assert_eq!(codes(&reply), ["NoError"]);
    assert_eq!(text(&reply.body, "TotalCount").as_deref(), Some("1"));
}

#[test]
fn an_account_without_a_mailbox_must_name_one() {
    let h = Harness::new();
    let reply = h.as_user(SVC, &get_inbox(None));
    assert_eq!(reply.status, 200);
    assert_eq!(codes(&reply), ["ErrorMissingEmailAddress"]);
}

#[test]
fn a_folder_in_a_mailbox_the_account_may_impersonate_can_be_named_directly() {
    let h = Harness::new();
    let reply = h.as_user(SVC, &get_inbox(Some(ALICE)));
    assert_eq!(codes(&reply), ["NoError"]);
    assert_eq!(text(&reply.body, "TotalCount").as_deref(), Some("1"));
}

#[test]
fn a_folder_in_a_mailbox_outside_the_grant_is_access_denied_for_that_message_only() {
    let h = Harness::new();
    let op = format!(
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>{}{}{}</m:FolderIds></m:GetFolder>",
        dfolder("inbox", Some(CAROL)),
        dfolder("inbox", Some(NOBODY)),
        dfolder("inbox", Some(BOB)),
    );
    let reply = h.as_svc(ALICE, &op);
    assert_eq!(reply.status, 200);
    assert_eq!(
        codes(&reply),
        ["ErrorAccessDenied", "ErrorNonExistentMailbox", "NoError"]
    );
}

#[test]
fn an_item_id_from_a_mailbox_outside_the_grant_is_access_denied() {
    let h = Harness::new();
    let id = h
        .exchange
        .deliver(
            CAROL,
            IncomingMessage {
                from: EmailAddress::new("x@fabrikam.test"),
                subject: "private".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let reply = h.as_svc(ALICE, &get_item(id.as_str(), "IdOnly", ""));
    assert_eq!(codes(&reply), ["ErrorAccessDenied"]);
    let reply = h.as_user("carol", &get_item(id.as_str(), "IdOnly", ""));
    assert_eq!(codes(&reply), ["NoError"]);
}
