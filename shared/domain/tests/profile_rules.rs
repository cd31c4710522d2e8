//! The rules of an email server profile's fields: one test per rule.

use exsync_domain::ids::Principal;
use exsync_domain::profile::{
    AuthType, CredentialsLocation, ExchangeVersion, Profile, ProfileInput, ProfileView,
    SealedSecret,
};
use exsync_domain::validation::ValidationErrors;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

fn input() -> ProfileInput {
    ProfileInput {
        name: Some("Contoso Exchange".into()),
        owner_email: Some("admins@contoso.test".into()),
        exchange_version: Some(ExchangeVersion::Exchange2016),
        user_name: Some("CONTOSO\\svc-exsync".into()),
        password: Some("Pa55word!".into()),
        ..ProfileInput::default()
    }
}

fn caller() -> Principal {
    Principal::parse("admin").unwrap()
}

fn create(i: ProfileInput) -> Result<Profile, ValidationErrors> {
    i.validate(None, Some(&caller()), NOW).map(|v| v.profile)
}

/// The fields named by the errors of `i`.
fn bad_fields(i: ProfileInput) -> Vec<String> {
    create(i)
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| e.field)
        .collect()
}

fn stored() -> Profile {
    let mut p = create(input()).unwrap();
    p.password = Some(SealedSecret {
        key_id: "k".into(),
        ciphertext_b64: "c2VhbGVk".into(),
    });
    p
}

fn ca_pem() -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

#[test]
fn a_valid_input_makes_a_profile_with_the_documented_defaults() {
    let p = create(input()).unwrap();
    assert!(p.use_autodiscover);
    assert!(p.use_same_settings_for_outgoing);
    assert_eq!(p.auth_type, AuthType::Ntlm);
    assert_eq!(p.credentials_location, CredentialsLocation::Profile);
    assert_eq!(p.min_polling_interval_minutes, 0);
    assert_eq!(p.max_concurrent_connections, 10);
    assert_eq!(p.connection_timeout_seconds, 100);
    assert!(!p.move_failed_to_undeliverable);
    assert!(!p.alert_owner_on_majority_failure);
    assert!(p.active);
    assert_eq!(p.version, 1);
}

#[test]
fn the_name_is_required() {
    assert_eq!(
        bad_fields(ProfileInput {
            name: None,
            ..input()
        }),
        ["name"]
    );
    assert_eq!(
        bad_fields(ProfileInput {
            name: Some("  ".into()),
            ..input()
        }),
        ["name"]
    );
}

#[test]
fn the_name_is_at_most_100_characters() {
    assert!(
        create(ProfileInput {
            name: Some("n".repeat(100)),
            ..input()
        })
        .is_ok()
    );
    assert_eq!(
        bad_fields(ProfileInput {
            name: Some("n".repeat(101)),
            ..input()
        }),
        ["name"]
    );
}

#[test]
fn the_owner_defaults_to_the_caller() {
    assert_eq!(create(input()).unwrap().owner.principal, caller());
}

#[test]
fn the_owner_email_is_required_and_must_be_an_address() {
    assert_eq!(
        bad_fields(ProfileInput {
            owner_email: None,
            ..input()
        }),
        ["owner_email"]
    );
    assert_eq!(
        bad_fields(ProfileInput {
            owner_email: Some("admins".into()),
            ..input()
        }),
        ["owner_email"]
    );
}

#[test]
fn the_exchange_version_is_required() {
    assert_eq!(
        bad_fields(ProfileInput {
            exchange_version: None,
            ..input()
        }),
        ["exchange_version"]
    );
}

#[test]
fn without_autodiscover_the_incoming_url_is_required() {
    assert_eq!(
        bad_fields(ProfileInput {
            use_autodiscover: Some(false),
            ..input()
        }),
        ["incoming_ews_url"]
    );
}

#[test]
fn an_http_ews_url_is_refused() {
    let i = ProfileInput {
        use_autodiscover: Some(false),
        incoming_ews_url: Some("http://mail.contoso.test/EWS/Exchange.asmx".into()),
        ..input()
    };
    let errs = create(i).unwrap_err();
    assert_eq!(errs.0[0].field, "incoming_ews_url");
    assert_eq!(errs.0[0].message, "must be an https:// URL");
}

#[test]
fn an_ews_url_that_does_not_parse_is_refused() {
    let i = ProfileInput {
        use_autodiscover: Some(false),
        incoming_ews_url: Some("mail.contoso.test/EWS".into()),
        ..input()
    };
    assert_eq!(bad_fields(i), ["incoming_ews_url"]);
}

#[test]
fn an_ews_url_with_credentials_is_refused() {
    let i = ProfileInput {
        use_autodiscover: Some(false),
        incoming_ews_url: Some("https://svc:pw@mail.contoso.test/EWS/Exchange.asmx".into()),
        ..input()
    };
    assert_eq!(bad_fields(i), ["incoming_ews_url"]);
}

#[test]
fn separate_outgoing_settings_without_autodiscover_need_an_outgoing_url() {
    let i = ProfileInput {
        use_autodiscover: Some(false),
        incoming_ews_url: Some("https://mail.contoso.test/EWS/Exchange.asmx".into()),
        use_same_settings_for_outgoing: Some(false),
        ..input()
    };
    assert_eq!(bad_fields(i), ["outgoing_ews_url"]);
}

#[test]
fn with_the_same_settings_the_outgoing_url_is_the_incoming_one() {
    let p = create(ProfileInput {
        use_autodiscover: Some(false),
        incoming_ews_url: Some("https://mail.contoso.test/EWS/Exchange.asmx".into()),
        outgoing_ews_url: Some("https://out.contoso.test/EWS/Exchange.asmx".into()),
        ..input()
    })
    .unwrap();
    assert_eq!(
        p.configured_ews_url(true),
        Some("https://mail.contoso.test/EWS/Exchange.asmx")
    );
}

#[test]
fn with_autodiscover_configured_urls_are_not_used() {
    let p = create(ProfileInput {
        incoming_ews_url: Some("https://mail.contoso.test/EWS/Exchange.asmx".into()),
        ..input()
    })
    .unwrap();
    assert_eq!(p.incoming_ews_url, None);
    assert_eq!(p.configured_ews_url(false), None);
}

#[test]
fn credentials_on_the_profile_need_a_user_name() {
    assert_eq!(
        bad_fields(ProfileInput {
            user_name: None,
            ..input()
        }),
        ["user_name"]
    );
}

#[test]
fn a_user_name_must_be_domain_user_or_a_upn() {
    assert_eq!(
        bad_fields(ProfileInput {
            user_name: Some("CONTOSO\\".into()),
            ..input()
        }),
        ["user_name"]
    );
    assert_eq!(
        bad_fields(ProfileInput {
            user_name: Some("svc@".into()),
            ..input()
        }),
        ["user_name"]
    );
    assert!(
        create(ProfileInput {
            user_name: Some("svc@contoso.test".into()),
            ..input()
        })
        .is_ok()
    );
}

#[test]
fn credentials_on_the_profile_need_a_password_on_create() {
    assert_eq!(
        bad_fields(ProfileInput {
            password: None,
            ..input()
        }),
        ["password"]
    );
}

#[test]
fn an_empty_password_is_refused() {
    assert_eq!(
        bad_fields(ProfileInput {
            password: Some(String::new()),
            ..input()
        }),
        ["password"]
    );
}

#[test]
fn the_new_password_is_handed_back_for_sealing_not_stored() {
    let v = input().validate(None, Some(&caller()), NOW).unwrap();
    assert_eq!(v.new_password.unwrap().expose(), "Pa55word!");
    assert_eq!(v.profile.password, None);
}

#[test]
fn credentials_on_mailboxes_take_no_profile_account() {
    let i = ProfileInput {
        credentials_location: Some(CredentialsLocation::Mailbox),
        ..input()
    };
    assert_eq!(bad_fields(i), ["user_name", "password"]);
    let p = create(ProfileInput {
        credentials_location: Some(CredentialsLocation::Mailbox),
        user_name: None,
        password: None,
        ..input()
    })
    .unwrap();
    assert_eq!(p.user_name, None);
}

#[test]
fn the_minimum_polling_interval_is_0_to_1440_minutes() {
    for ok in [0, 1440] {
        assert!(
            create(ProfileInput {
                min_polling_interval_minutes: Some(ok),
                ..input()
            })
            .is_ok()
        );
    }
    for bad in [-1, 1441] {
        assert_eq!(
            bad_fields(ProfileInput {
                min_polling_interval_minutes: Some(bad),
                ..input()
            }),
            ["min_polling_interval_minutes"]
        );
    }
}

#[test]
fn maximum_concurrent_connections_are_1_to_300() {
    for ok in [1, 300] {
        assert!(
            create(ProfileInput {
                max_concurrent_connections: Some(ok),
                ..input()
            })
            .is_ok()
        );
    }
    for bad in [0, 301] {
        assert_eq!(
            bad_fields(ProfileInput {
                max_concurrent_connections: Some(bad),
                ..input()
            }),
            ["max_concurrent_connections"]
        );
    }
}

#[test]
fn the_connection_timeout_is_1_to_100_seconds() {
    for ok in [1, 100] {
        assert!(
            create(ProfileInput {
                connection_timeout_seconds: Some(ok),
                ..input()
            })
            .is_ok()
        );
    }
    for bad in [0, 101] {
        assert_eq!(
            bad_fields(ProfileInput {
                connection_timeout_seconds: Some(bad),
                ..input()
            }),
            ["connection_timeout_seconds"]
        );
    }
}

#[test]
fn process_email_from_defaults_to_now() {
    assert_eq!(create(input()).unwrap().process_email_from, NOW);
}

#[test]
fn process_email_from_must_be_rfc3339() {
    assert_eq!(
        bad_fields(ProfileInput {
            process_email_from: Some("yesterday".into()),
            ..input()
        }),
        ["process_email_from"]
    );
    let p = create(ProfileInput {
        process_email_from: Some("2026-01-01T00:00:00Z".into()),
        ..input()
    })
    .unwrap();
    assert_eq!(p.process_email_from, datetime!(2026-01-01 00:00 UTC));
}

#[test]
fn a_ca_bundle_must_hold_pem_certificates() {
    assert_eq!(
        bad_fields(ProfileInput {
            ca_bundle_pem: Some("not a certificate".into()),
            ..input()
        }),
        ["ca_bundle_pem"]
    );
    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_eq!(
        bad_fields(ProfileInput {
            ca_bundle_pem: Some(garbage.into()),
            ..input()
        }),
        ["ca_bundle_pem"]
    );
}

#[test]
fn a_real_ca_certificate_is_accepted() {
    let pem = ca_pem() + &ca_pem();
    let p = create(ProfileInput {
        ca_bundle_pem: Some(pem),
        ..input()
    })
    .unwrap();
    assert_eq!(
        p.ca_bundle_pem
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count(),
        2
    );
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let i = ProfileInput {
        name: None,
        owner_email: Some("x".into()),
        max_concurrent_connections: Some(0),
        ..input()
    };
    assert_eq!(
        bad_fields(i),
        ["name", "owner_email", "max_concurrent_connections"]
    );
}

#[test]
fn an_update_keeps_the_fields_it_does_not_name() {
    let old = stored();
    let updated = ProfileInput {
        description: Some("EMEA".into()),
        ..ProfileInput::default()
    }
    .validate(Some(&old), Some(&caller()), NOW)
    .unwrap()
    .profile;
    assert_eq!(updated.name, old.name);
    assert_eq!(updated.user_name, old.user_name);
    assert_eq!(updated.description, "EMEA");
    assert_eq!(updated.id, old.id);
    assert_eq!(updated.version, old.version + 1);
}

#[test]
fn an_update_without_a_password_keeps_the_sealed_one() {
    let old = stored();
    let v = ProfileInput::default()
        .validate(Some(&old), Some(&caller()), NOW)
        .unwrap();
    assert_eq!(v.profile.password, old.password);
    assert!(v.new_password.is_none());
}

#[test]
fn a_new_user_name_needs_a_new_password() {
    let old = stored();
    let errs = ProfileInput {
        user_name: Some("CONTOSO\\other".into()),
        ..ProfileInput::default()
    }
    .validate(Some(&old), Some(&caller()), NOW)
    .unwrap_err();
    assert_eq!(errs.0[0].field, "password");
}

#[test]
fn moving_credentials_to_mailboxes_drops_the_profile_account() {
    let old = stored();
    let p = ProfileInput {
        credentials_location: Some(CredentialsLocation::Mailbox),
        ..ProfileInput::default()
    }
    .validate(Some(&old), Some(&caller()), NOW)
    .unwrap()
    .profile;
    assert_eq!((p.user_name, p.password), (None, None));
}

#[test]
fn an_empty_string_clears_an_optional_text() {
    let mut old = stored();
    old.description = "old".into();
    let p = ProfileInput {
        description: Some(String::new()),
        ..ProfileInput::default()
    }
    .validate(Some(&old), Some(&caller()), NOW)
    .unwrap()
    .profile;
    assert_eq!(p.description, "");
}

#[test]
fn the_view_shows_whether_a_password_is_set_but_never_the_password() {
    let p = stored();
    let view = ProfileView::from(&p);
    assert!(view.password_set);
    let json = serde_json::to_string(&view).unwrap();
    assert!(!json.contains("c2VhbGVk"), "{json}");
    assert!(!json.contains("ciphertext"), "{json}");
}

#[test]
fn unknown_input_fields_are_refused() {
    let err = serde_json::from_str::<ProfileInput>(r#"{"name":"x","use_autodiscovery":false}"#)
        .unwrap_err();
    assert!(err.to_string().contains("use_autodiscovery"), "{err}");
}
