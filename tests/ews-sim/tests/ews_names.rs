//! ResolveNames against the directory (exchangelib probes server versions with it).

mod ews_support;

use ews_support::*;

fn resolve(entry: &str) -> String {
    format!(
        r#"<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>{entry}</m:UnresolvedEntry></m:ResolveNames>"#
    )
}

#[test]
fn an_address_prefix_resolves_to_the_mailbox() {
    let h = Harness::new();
    let reply = h.as_svc(ALICE, &resolve("SMTP:bob@"));
    assert_eq!(codes(&reply), ["NoError"]);
    assert_eq!(texts(&reply.body, "EmailAddress"), [BOB]);
    assert_eq!(texts(&reply.body, "Name"), ["Bob Berg"]);
}

#[test]
fn a_display_name_fragment_resolves_every_match() {
    let h = Harness::new();
    let reply = h.as_svc(ALICE, &resolve("co"));
    assert_eq!(codes(&reply), ["NoError"]);
    assert_eq!(texts(&reply.body, "EmailAddress"), [CAROL]);
}

#[test]
fn an_unknown_name_has_no_results() {
    let h = Harness::new();
    let reply = h.as_svc(ALICE, &resolve("zed"));
    assert_eq!(reply.status, 200);
    assert_eq!(codes(&reply), ["ErrorNameResolutionNoResults"]);
}
