//! Test Connection against the Exchange simulator: each step, and each way it fails.

mod support;

use exsync_domain::DomainError;
use exsync_domain::exchange::{ExchangeEnvironment, SrvLookup};
use exsync_domain::profile::{CredentialsLocation, ProfileInput, TestOutcome};
use exsync_domain::test_connection::TestConnectionInput;
use exsync_ews::autodiscover::StaticSrvResolver;
use exsync_ews::transport::ConnectOverrides;
use support::*;

fn steps(result: &exsync_domain::profile::TestConnectionResult) -> Vec<(String, bool)> {
    result
        .steps
        .iter()
        .map(|s| (s.step.clone(), s.ok))
        .collect()
}

fn failed_step(
    result: &exsync_domain::profile::TestConnectionResult,
) -> &exsync_domain::profile::DiagnosisStep {
    result.steps.iter().find(|s| !s.ok).expect("a step failed")
}

#[tokio::test]
async fn a_working_profile_passes_every_step_and_the_result_is_stored() {
    let w = World::start();
    let p = w.profile().await;
    let result = w
        .admin
        .test_connection(
            &admin(),
            &p.id,
            TestConnectionInput {
                test_mailbox: Some(ALICE.into()),
                ..TestConnectionInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(result.outcome, TestOutcome::Success);
    assert_eq!(
        steps(&result),
        [
            "connection",
            "tls",
            "authentication",
            "impersonation",
            "mailbox"
        ]
        .map(|s| (s.to_owned(), true))
        .to_vec()
    );
    assert_eq!(result.ews_url.as_deref(), Some(w.ews_url().as_str()));
    let stored = w.admin.get_profile(&admin(), &p.id).await.unwrap();
    assert_eq!(stored.last_test, Some(result));
}

#[tokio::test]
async fn the_owner_s_address_is_the_default_test_mailbox() {
    let w = World::start();
    let p = w
        .admin
        .create_profile(
            &admin(),
            ProfileInput {
                owner_email: Some(BOB.into()),
                ..w.profile_input()
            },
        )
        .await
        .unwrap();
    let result = w
        .admin
        .test_connection(&admin(), &p.id, TestConnectionInput::default())
        .await
        .unwrap();
    assert_eq!(result.test_mailbox.as_str(), BOB);
    assert_eq!(result.outcome, TestOutcome::Success);
}

#[tokio::test]
async fn a_wrong_password_fails_at_authentication() {
    let w = World::start();
    let p = w
        .admin
        .create_profile(
            &admin(),
            ProfileInput {
                password: Some("not-the-password".into()),
                ..w.profile_input()
            },
        )
        .await
        .unwrap();
    let result = w
        .admin
        .test_connection(
            &admin(),
            &p.id,
            TestConnectionInput {
                test_mailbox: Some(ALICE.into()),
                ..TestConnectionInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(result.outcome, TestOutcome::Failure);
    assert_eq!(
        steps(&result),
        vec![
            ("connection".to_owned(), true),
            ("tls".to_owned(), true),
            ("authentication".to_owned(), false)
        ]
    );
    assert!(
        failed_step(&result)
            .detail
            .contains("password was rejected")
    );
}

#[tokio::test]
async fn a_mailbox_outside_the_impersonation_grant_fails_at_impersonation() {
    let w = World::start();
    let p = w.profile().await;
    let result = w
        .admin
        .test_connection(
            &admin(),
            &p.id,
            TestConnectionInput {
                test_mailbox: Some(CAROL.into()),
                ..TestConnectionInput::default()
            },
        )
        .await
        .unwrap();
    let failed = failed_step(&result);
    assert_eq!(failed.step, "impersonation");
    assert!(
        failed
            .advice
            .as_deref()
            .unwrap()
            .contains("ApplicationImpersonation -User svc-exsync"),
        "{failed:?}"
    );
    assert_eq!(
        steps(&result).len(),
        4,
        "connection, TLS and authentication passed first"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_fails_at_tls_and_asks_for_the_profile_ca_bundle() {
    let w = World::start_with(sim_config(), false);
    let p = w.profile().await;
    let result = w
        .admin
        .test_connection(
            &admin(),
            &p.id,
            TestConnectionInput {
                test_mailbox: Some(ALICE.into()),
                ..TestConnectionInput::default()
            },
        )
        .await
        .unwrap();
    let failed = failed_step(&result);
    assert_eq!(failed.step, "tls");
    assert!(
        failed.advice.as_deref().unwrap().contains("ca_bundle_pem"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn the_profile_s_own_ca_bundle_is_trusted() {
    let w = World::start_with(sim_config(), false);
    let ca = String::from_utf8(w.sim.ca_pem().to_vec()).unwrap();
    let p = w
        .admin
        .create_profile(
            &admin(),
            ProfileInput {
                ca_bundle_pem: Some(ca),
                ..w.profile_input()
            },
        )
        .await
        .unwrap();
    let result = w
        .admin
        .test_connection(
            &admin(),
            &p.id,
            TestConnectionInput {
                test_mailbox: Some(ALICE.into()),
                ..TestConnectionInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(result.outcome, TestOutcome::Success, "{:?}", result.steps);
}

fn autodiscover_profile(w: &World) -> ProfileInput {
    ProfileInput {
        use_autodiscover: Some(true),
        incoming_ews_url: None,
        ..w.profile_input()
    }
}

#[tokio::test]
async fn autodiscover_finds_the_ews_url_first() {
    let w = World::start();
    let p = w
        .admin
        .create_profile(&admin(), autodiscover_profile(&w))
        .await
        .unwrap();
    let result = w
        .admin
        .test_connection(
            &admin(),
            &p.id,
            TestConnectionInput {
                test_mailbox: Some(ALICE.into()),
                ..TestConnectionInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(result.outcome, TestOutcome::Success, "{:?}", result.steps);
    assert_eq!(result.steps[0].step, "autodiscover");
    assert!(result.steps[0].ok);
    assert!(
        result
            .ews_url
            .as_deref()
            .unwrap()
            .ends_with("/EWS/Exchange.asmx")
    );
}

#[tokio::test]
async fn a_failing_autodiscover_stops_at_the_autodiscover_step() {
    let sim = start_sim(sim_config());
    // Every Autodiscover host of the domain is unreachable.
    let mut overrides = ConnectOverrides::new();
    for (host, port) in [
        (DOMAIN, 443),
        ("autodiscover.contoso.test", 443),
        ("autodiscover.contoso.test", 80),
    ] {
        overrides.insert(host, port, closed_port());
    }
    let env = ExchangeEnvironment {
        extra_ca_pem: Some(sim.ca_pem().to_vec()),
        connect_overrides: overrides,
        srv: SrvLookup::Static(StaticSrvResolver::new()),
        budget: std::time::Duration::from_secs(60),
    };
    let w = World::with_environment(sim, env);
    let p = w
        .admin
        .create_profile(&admin(), autodiscover_profile(&w))
        .await
        .unwrap();
    let result = w
        .admin
        .test_connection(
            &admin(),
            &p.id,
            TestConnectionInput {
                test_mailbox: Some(ALICE.into()),
                ..TestConnectionInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(steps(&result), vec![("autodiscover".to_owned(), false)]);
    assert!(
        failed_step(&result)
            .advice
            .as_deref()
            .unwrap()
            .contains("incoming_ews_url")
    );
    assert!(result.ews_url.is_none());
}

#[tokio::test]
async fn the_excerpt_shows_the_request_without_any_secret() {
    let w = World::start();
    let p = w.profile().await;
    let result = w
        .admin
        .test_connection(
            &admin(),
            &p.id,
            TestConnectionInput {
                test_mailbox: Some(ALICE.into()),
                ..TestConnectionInput::default()
            },
        )
        .await
        .unwrap();
    let excerpt = result.excerpt.unwrap();
    assert!(excerpt.contains("<m:GetFolder>"), "{excerpt}");
    assert!(excerpt.contains("[redacted]"), "{excerpt}");
    assert!(!excerpt.contains(SERVICE_PASSWORD));
    let stored =
        serde_json::to_string(&w.admin.get_profile(&admin(), &p.id).await.unwrap()).unwrap();
    assert!(!stored.contains(SERVICE_PASSWORD));
}

#[tokio::test]
async fn a_profile_with_credentials_on_mailboxes_is_tested_with_the_given_account() {
    let w = World::start();
    let p = w
        .admin
        .create_profile(
            &admin(),
            ProfileInput {
                credentials_location: Some(CredentialsLocation::Mailbox),
                user_name: None,
                password: None,
                ..w.profile_input()
            },
        )
        .await
        .unwrap();
    let result = w
        .admin
        .test_connection(
            &admin(),
            &p.id,
            TestConnectionInput {
                test_mailbox: Some(ALICE.into()),
                user_name: Some(ALICE_LOGON.into()),
                password: Some(ALICE_PASSWORD.into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(result.outcome, TestOutcome::Success, "{:?}", result.steps);
    assert!(
        !result.steps.iter().any(|s| s.step == "impersonation"),
        "own account, no impersonation"
    );
}

#[tokio::test]
async fn credentials_on_mailboxes_need_an_account_for_the_test() {
    let w = World::start();
    let p = w
        .admin
        .create_profile(
            &admin(),
            ProfileInput {
                credentials_location: Some(CredentialsLocation::Mailbox),
                user_name: None,
                password: None,
                ..w.profile_input()
            },
        )
        .await
        .unwrap();
    let err = w
        .admin
        .test_connection(&admin(), &p.id, TestConnectionInput::default())
        .await
        .unwrap_err();
    let DomainError::Validation(errs) = err else {
        panic!("{err:?}")
    };
    let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["user_name", "password"]);
}

#[tokio::test]
async fn test_connection_needs_write_profiles() {
    let w = World::start();
    let p = w.profile().await;
    let err = w
        .admin
        .test_connection(
            &caller(
                "reader",
                &[exsync_domain::privilege::Privilege::ReadProfiles],
            ),
            &p.id,
            TestConnectionInput::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(exsync_domain::privilege::Privilege::WriteProfiles)
    ));
}
