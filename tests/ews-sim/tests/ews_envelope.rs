//! The SOAP envelope: schema validation of requests, faults, the ServerVersionInfo header,
//! RequestServerVersion, and the helpers the HTTP layer calls.

mod ews_support;

use ews_support::*;
use exsync_ews_sim::config::ServerVersion;
use exsync_ews_sim::ews::{Exchange, ExchangeOptions, operation_name, soap_fault};

fn example(name: &str) -> String {
    std::fs::read_to_string(
        ExchangeOptions::default_schema_dir()
            .join("examples")
            .join(name),
    )
    .unwrap()
}

#[test]
fn the_valid_syncfolderitems_example_is_answered_for_the_impersonated_mailbox() {
    let h = Harness::new();
    let reply = h.raw(
        SVC,
        &example("syncfolderitems-request.xml").replace("alice@contoso.com", ALICE),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(codes(&reply), ["NoError"]);
    assert_eq!(reply.operation.as_deref(), Some("SyncFolderItems"));
    // Alice's seed message is the one change of an initial sync.
    assert_eq!(texts(&reply.body, "Create").len(), 1);
}

#[test]
fn the_valid_getitem_example_answers_each_foreign_id_as_malformed_in_order() {
    let h = Harness::new();
    let reply = h.raw(
        SVC,
        &example("getitem-request.xml").replace("alice@contoso.com", ALICE),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        codes(&reply),
        ["ErrorInvalidIdMalformed", "ErrorInvalidIdMalformed"]
    );
    assert_eq!(
        attrs(&reply.body, "GetItemResponseMessage", "ResponseClass"),
        ["Error", "Error"]
    );
}

#[test]
fn each_invalid_example_is_rejected_with_error_schema_validation() {
    let h = Harness::new();
    for name in [
        "invalid-maxchanges-513.xml",
        "invalid-unknown-body-element.xml",
        "invalid-version-exchange2010-fixed.xml",
        "invalid-version-exchange2013sp1.xml",
    ] {
        let reply = h.raw(SVC, &example(name).replace("alice@contoso.com", ALICE));
        assert_eq!(reply.status, 500, "{name}");
        assert_eq!(codes(&reply), ["ErrorSchemaValidation"], "{name}");
        assert_eq!(
            text(&reply.body, "faultcode").as_deref(),
            Some("a:ErrorSchemaValidation")
        );
    }
}

#[test]
fn a_schema_violation_names_the_line_and_the_offending_value() {
    let h = Harness::new();
    let reply = h.raw(
        SVC,
        &example("invalid-maxchanges-513.xml").replace("alice@contoso.com", ALICE),
    );
    let violation = text(&reply.body, "Violation").unwrap();
    assert!(violation.contains("513"), "{violation}");
    assert_eq!(text(&reply.body, "LineNumber").as_deref(), Some("21"));
    assert!(
        text(&reply.body, "faultstring")
            .unwrap()
            .starts_with("The request failed schema validation: ")
    );
}

#[test]
fn malformed_xml_is_a_schema_validation_fault() {
    let h = Harness::new();
    let reply = h.raw(SVC, "<soap:Envelope xmlns:soap=\"x\"><unclosed>");
    assert_eq!(reply.status, 500);
    assert_eq!(codes(&reply), ["ErrorSchemaValidation"]);
}

#[test]
fn a_document_type_declaration_is_refused() {
    let h = Harness::with_validation(false);
    let body = envelope(Some(ALICE), "<m:GetFolder/>").replacen(
        "<soap:Envelope",
        "<!DOCTYPE x [<!ENTITY e \"boom\">]><soap:Envelope",
        1,
    );
    let body = body.replacen(r#"<?xml version="1.0" encoding="utf-8"?>"#, "", 1);
    let reply = h.raw(SVC, &body);
    assert_eq!(reply.status, 500);
    assert_eq!(codes(&reply), ["ErrorSchemaValidation"]);
}

#[test]
fn a_schema_valid_operation_the_simulator_lacks_is_an_invalid_request_fault() {
    let h = Harness::new();
    let op = r#"<m:GetServerTimeZones ReturnFullTimeZoneData="false"/>"#;
    let reply = h.as_svc(ALICE, op);
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert_eq!(codes(&reply), ["ErrorInvalidRequest"]);
    assert_eq!(reply.operation.as_deref(), Some("GetServerTimeZones"));
}

#[test]
fn an_unknown_element_passes_with_validation_off_but_is_still_refused() {
    let h = Harness::with_validation(false);
    let reply = h.as_svc(ALICE, "<m:FrobnicateItems/>");
    assert_eq!(reply.status, 500);
    assert_eq!(codes(&reply), ["ErrorInvalidRequest"]);
}

#[test]
fn every_answer_carries_server_version_info_of_the_emulated_version() {
    for (version, major, build) in [
        (ServerVersion::Exchange2010Sp3, "14", "123"),
        (ServerVersion::Exchange2013Sp1, "15", "847"),
        (ServerVersion::Exchange2016, "15", "225"),
    ] {
        let cfg = config();
        let exchange = Exchange::new(
            &cfg,
            ExchangeOptions {
                validate_requests: true,
                validate_responses: true,
                server_version: version,
                schema_dir: ExchangeOptions::default_schema_dir(),
            },
        )
        .unwrap();
        let directory = exsync_ews_sim::directory::Directory::from_config(&cfg);
        let reply = exchange.handle(
            &exsync_ews_sim::ews::EwsCall {
                logon: directory.account(SVC).unwrap(),
                directory: &directory,
                anchor_mailbox: Some(ALICE),
            },
            envelope(
                Some(ALICE),
                &format!(
                    "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>{}</m:FolderIds></m:GetFolder>",
                    dfolder("inbox", None)
                ),
            )
            .as_bytes(),
        );
        assert_eq!(
            attrs(&reply.body, "ServerVersionInfo", "MajorVersion"),
            [major]
        );
        assert_eq!(
            attrs(&reply.body, "ServerVersionInfo", "MajorBuildNumber"),
            [build]
        );
        assert!(exchange.invalid_responses().is_empty());
    }
}

#[test]
fn responses_declare_the_messages_and_types_namespaces_on_the_response_element() {
    let h = Harness::new();
    let reply = h.as_svc(
        ALICE,
        &format!(
            "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>{}</m:FolderIds></m:GetFolder>",
            dfolder("inbox", None)
        ),
    );
    assert!(
        reply.body.contains(&format!(
            r#"<m:GetFolderResponse xmlns:m="{NS_M}" xmlns:t="{NS_T}">"#
        )),
        "{}",
        reply.body
    );
}

#[test]
fn the_request_server_version_is_recorded() {
    let h = Harness::with_validation(false);
    h.as_svc(ALICE, "<m:GetFolder/>");
    let with_2013 =
        envelope(Some(ALICE), "<m:GetFolder/>").replace("Exchange2010_SP2", "Exchange2013_SP1");
    h.raw(SVC, &with_2013);
    assert_eq!(
        h.exchange.request_server_versions(),
        ["Exchange2010_SP2", "Exchange2013_SP1"]
    );
}

#[test]
fn time_zone_culture_and_precision_headers_are_accepted_and_ignored() {
    let h = Harness::new();
    let op = format!(
        "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>{}</m:FolderIds></m:GetFolder>",
        dfolder("inbox", None)
    );
    let body = envelope(Some(ALICE), &op).replace(
        "</soap:Header>",
        r#"<t:MailboxCulture>en-US</t:MailboxCulture><t:TimeZoneContext><t:TimeZoneDefinition Id="W. Europe Standard Time"/></t:TimeZoneContext><t:DateTimePrecision>Seconds</t:DateTimePrecision></soap:Header>"#,
    );
    let reply = h.raw(SVC, &body);
    assert_eq!(codes(&reply), ["NoError"], "{}", reply.body);
}

#[test]
fn malformed_xml_reports_where_parsing_stopped() {
    let h = Harness::new();
    let reply = h.raw(SVC, "<a>\n  <b></a>");
    assert_eq!(text(&reply.body, "LineNumber").as_deref(), Some("2"));
    assert_ne!(text(&reply.body, "LinePosition").as_deref(), Some("0"));
}

#[test]
fn operation_name_reads_the_body_element_without_validating() {
    assert_eq!(
        operation_name(envelope(None, "<m:Nonsense/>").as_bytes()).as_deref(),
        Some("Nonsense")
    );
    assert_eq!(operation_name(b"not xml"), None);
    assert_eq!(operation_name(b"<a/>"), None);
}

#[test]
fn a_server_busy_fault_carries_the_back_off_and_validates() {
    let h = Harness::new();
    let body = soap_fault(
        "ErrorServerBusy",
        "The server cannot service this request right now.",
        Some(297_749),
    );
    assert_eq!(
        text(&body, "faultcode").as_deref(),
        Some("a:ErrorServerBusy")
    );
    assert_eq!(text(&body, "Value").as_deref(), Some("297749"));
    assert_eq!(attrs(&body, "Value", "Name"), ["BackOffMilliseconds"]);
    h.exchange.check_response(&body);
    assert!(h.exchange.invalid_responses().is_empty());
}

#[test]
fn check_response_records_a_response_that_does_not_validate() {
    let exchange = Exchange::new(&config(), ExchangeOptions::from_config(&config())).unwrap();
    let bad = envelope(None, "<m:GetItemResponse><m:Bogus/></m:GetItemResponse>");
    exchange.check_response(&bad);
    let invalid = exchange.invalid_responses();
    assert_eq!(invalid.len(), 1);
    assert!(invalid[0].starts_with("GetItemResponse: "), "{invalid:?}");
}

#[test]
fn a_missing_schema_directory_fails_startup() {
    let err = Exchange::new(
        &config(),
        ExchangeOptions {
            validate_requests: true,
            validate_responses: true,
            server_version: ServerVersion::Exchange2016,
            schema_dir: "/nonexistent".into(),
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent"), "{err}");
}
