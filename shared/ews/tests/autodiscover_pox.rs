//! Reading POX Autodiscover answers, on Microsoft's published samples (sources in each
//! fixture).

use exsync_ews::autodiscover::{PoxParseError, PoxResponse, PoxSettings, parse_pox_response};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/autodiscover/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn settings(doc: &[u8]) -> PoxSettings {
    match parse_pox_response(doc).unwrap() {
        PoxResponse::Settings(s) => s,
        other => panic!("not settings: {other:?}"),
    }
}

#[test]
fn exchange_2013_sample_without_expr_ews_url_falls_back_to_exch() {
    let s = settings(&fixture("pox-settings-exchange2013.xml"));
    let (protocol, url) = s.ews_url_candidates()[0];
    assert_eq!(protocol.kind, "EXCH");
    assert_eq!(url, "https://mail.contoso.com/EWS/Exchange.asmx");
    assert_eq!(s.display_name.as_deref(), Some("Mara Whitley"));
    assert_eq!(s.smtp_address.as_deref(), Some("mara@contoso.com"));
    let expr = s.protocols.iter().find(|p| p.kind == "EXPR").unwrap();
    assert_eq!(expr.ews_url, None);
    assert_eq!(expr.auth_package.as_deref(), Some("Ntlm"));
    assert_eq!(protocol.server_version.as_deref(), Some("73C08204"));
}

#[test]
fn only_direct_protocol_blocks_of_the_account_count() {
    // The WEB block nests another EXCH Protocol under Internal; it is not an account block.
    let s = settings(&fixture("pox-settings-exchange2013.xml"));
    let kinds: Vec<_> = s.protocols.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, ["EXCH", "EXPR", "WEB"]);
}

#[test]
fn expr_ews_url_is_preferred_over_exch() {
    let doc = String::from_utf8(fixture("pox-settings-exchange2013.xml")).unwrap();
    let doc = doc.replace(
        "<AuthPackage>Ntlm</AuthPackage>",
        "<AuthPackage>Ntlm</AuthPackage><EwsUrl>https://owa.contoso.com/EWS/Exchange.asmx</EwsUrl>",
    );
    let s = settings(doc.as_bytes());
    let (protocol, url) = s.ews_url_candidates()[0];
    assert_eq!(
        (protocol.kind.as_str(), url),
        ("EXPR", "https://owa.contoso.com/EWS/Exchange.asmx")
    );
}

#[test]
fn exchange_2007_sample_gives_the_ews_url_in_asurl() {
    let s = settings(&fixture("pox-settings-asurl-only.xml"));
    let candidates = s.ews_url_candidates();
    assert_eq!(candidates.len(), 2);
    assert_eq!(candidates[0].0.kind, "EXPR");
    assert_eq!(
        candidates[0].1,
        "https://mail.contoso.com/ews/exchange.asmx"
    );
    assert_eq!(candidates[1].0.kind, "EXCH");
    assert_eq!(s.display_name.as_deref(), Some("First Last"));
}

#[test]
fn error_600_is_read_with_its_message_and_attributes() {
    match parse_pox_response(&fixture("pox-error-600.xml")).unwrap() {
        PoxResponse::Error(e) => {
            assert_eq!(e.code, "600");
            assert_eq!(e.message.as_deref(), Some("Invalid Request"));
            assert_eq!(e.debug_data, None);
            assert_eq!(e.time.as_deref(), Some("21:25:04.8897083"));
            assert_eq!(e.id.as_deref(), Some("4130155072"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn redirect_addr_names_the_new_address() {
    assert_eq!(
        parse_pox_response(&fixture("pox-redirect-addr.xml")).unwrap(),
        PoxResponse::RedirectAddr {
            address: "elvin@mail.contoso.com".into()
        }
    );
}

#[test]
fn redirect_url_names_the_new_url() {
    assert_eq!(
        parse_pox_response(&fixture("pox-redirect-url.xml")).unwrap(),
        PoxResponse::RedirectUrl {
            url: "https://cas2.contoso.com/autodiscover/autodiscover.xml".into()
        }
    );
}

#[test]
fn redirect_without_a_target_is_an_error() {
    let doc = String::from_utf8(fixture("pox-redirect-url.xml")).unwrap();
    let doc = doc.replace(
        "<RedirectUrl>https://cas2.contoso.com/autodiscover/autodiscover.xml</RedirectUrl>",
        "",
    );
    assert_eq!(
        parse_pox_response(doc.as_bytes()),
        Err(PoxParseError::Missing("Account/RedirectUrl"))
    );
}

#[test]
fn a_soap_envelope_is_not_a_pox_answer() {
    let doc = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#;
    assert!(matches!(
        parse_pox_response(doc),
        Err(PoxParseError::NotAutodiscover { .. })
    ));
}

#[test]
fn an_html_login_page_is_an_error_not_a_panic() {
    let doc = b"<html><head><title>Outlook</title></head><body><form></body></html>";
    assert!(matches!(
        parse_pox_response(doc),
        Err(PoxParseError::Xml(_))
    ));
}

#[test]
fn responses_serialize_to_json_for_the_cli() {
    let value =
        serde_json::to_value(parse_pox_response(&fixture("pox-redirect-addr.xml")).unwrap())
            .unwrap();
    assert_eq!(
        value,
        serde_json::json!({"action": "redirect_addr", "address": "elvin@mail.contoso.com"})
    );
}
