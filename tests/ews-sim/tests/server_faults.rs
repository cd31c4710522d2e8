//! Each scripted fault produces what it says, after authentication, for the calls it names.

mod server_support;

use exsync_ews_sim::{FaultKind, FaultRule, SimHandle, SimOptions};
use server_support::*;

fn service_auth() -> String {
    basic(SERVICE_LOGON, SERVICE_PASSWORD)
}

async fn get_folder(sim: &SimHandle) -> Reply {
    let mut conn = Connection::open(sim).await;
    conn.post(EWS_PATH, Some(&service_auth()), &get_folder_request())
        .await
        .unwrap()
}

fn is_well_formed(xml: &str) -> bool {
    roxmltree::Document::parse(xml).is_ok()
}

#[tokio::test]
async fn soap_fault_is_an_http_500_carrying_the_code() {
    let sim = start();
    sim.set_faults(vec![FaultRule::next(
        None,
        1,
        FaultKind::SoapFault {
            code: "ErrorMailboxMoveInProgress".into(),
            message: None,
        },
    )]);
    let reply = get_folder(&sim).await;
    assert_eq!(reply.status, 500);
    assert!(
        reply.body.contains("ErrorMailboxMoveInProgress"),
        "{reply:?}"
    );
    assert!(is_well_formed(&reply.body));
    assert_eq!(sim.exchange().invalid_responses(), Vec::<String>::new());
}

#[tokio::test]
async fn service_unavailable_is_an_http_503_page() {
    let sim = start();
    sim.set_faults(vec![FaultRule::next(
        None,
        1,
        FaultKind::ServiceUnavailable,
    )]);
    let reply = get_folder(&sim).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.headers["content-type"], "text/html");
    assert!(reply.body.contains("Service Unavailable"));
}

#[tokio::test]
async fn server_busy_is_an_http_500_with_back_off() {
    let sim = start();
    sim.set_faults(vec![FaultRule::next(
        None,
        1,
        FaultKind::ServerBusy { back_off_ms: 2500 },
    )]);
    let reply = get_folder(&sim).await;
    assert_eq!(reply.status, 500);
    assert!(reply.body.contains("ErrorServerBusy"), "{reply:?}");
    assert!(reply.body.contains("BackOffMilliseconds"), "{reply:?}");
    assert!(reply.body.contains("2500"), "{reply:?}");
    assert_eq!(sim.exchange().invalid_responses(), Vec::<String>::new());
}

#[tokio::test]
async fn inner_server_busy_is_a_200_whose_message_is_an_internal_error() {
    let sim = start();
    sim.set_faults(vec![FaultRule::next(
        None,
        1,
        FaultKind::InnerServerBusy {
            back_off_ms: Some(700),
        },
    )]);
    let reply = get_folder(&sim).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let doc = roxmltree::Document::parse(&reply.body).unwrap();
    let message = doc
        .descendants()
        .find(|n| n.tag_name().name() == "GetFolderResponseMessage")
        .expect("a GetFolder response message");
    assert_eq!(message.attribute("ResponseClass"), Some("Error"));
    let code = doc
        .descendants()
        .find(|n| n.tag_name().name() == "ResponseCode")
        .and_then(|n| n.text());
    assert_eq!(code, Some("ErrorInternalServerError"));
    let inner = doc
        .descendants()
        .find(|n| n.attribute("Name") == Some("InnerErrorResponseCode"))
        .and_then(|n| n.text());
    assert_eq!(inner, Some("ErrorServerBusy"));
    assert_eq!(sim.exchange().invalid_responses(), Vec::<String>::new());
}

#[tokio::test]
async fn delay_holds_the_request_in_flight_then_answers_normally() {
    let sim = start();
    let normal = get_folder(&sim).await;
    sim.set_faults(vec![FaultRule::next(None, 1, FaultKind::Delay { ms: 300 })]);
    let mut conn = Connection::open(&sim).await;
    let auth = service_auth();
    let pending = tokio::spawn(async move {
        conn.post(EWS_PATH, Some(&auth), &get_folder_request())
            .await
            .unwrap()
    });
    eventually("the delayed request is in flight", || {
        sim.load(SERVICE_USER).in_flight == 1
    })
    .await;
    let delayed = pending.await.unwrap();
    assert_eq!(delayed.status, normal.status);
    assert_eq!(sim.load(SERVICE_USER).in_flight, 0);
}

#[tokio::test]
async fn reset_mid_response_drops_the_connection_after_part_of_the_body() {
    let sim = start();
    sim.set_faults(vec![FaultRule::next(None, 1, FaultKind::ResetMidResponse)]);
    let mut conn = Connection::open(&sim).await;
    let (status, headers, body) = conn
        .post_streaming(EWS_PATH, Some(&service_auth()), &get_folder_request())
        .await;
    assert_eq!(status, 200);
    let announced: usize = headers["content-length"].to_str().unwrap().parse().unwrap();
    assert!(announced > 0);
    assert!(body.is_err(), "the body must end early");
    conn.closed_by_server().await;
}

/// A CreateItem that saves a draft in Alice's mailbox, impersonating her.
fn save_draft_request(subject: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
               xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
               xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
  <soap:Header>
    <t:RequestServerVersion Version="Exchange2010_SP2"/>
    <t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{ALICE}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>
  </soap:Header>
  <soap:Body>
    <m:CreateItem MessageDisposition="SaveOnly">
      <m:Items><t:Message><t:Subject>{subject}</t:Subject></t:Message></m:Items>
    </m:CreateItem>
  </soap:Body>
</soap:Envelope>"#
    )
}

#[tokio::test]
async fn drop_after_request_runs_the_operation_then_closes_without_a_byte_of_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = start();
    sim.set_faults(vec![FaultRule::next(None, 1, FaultKind::DropAfterRequest)]);
    // A raw connection: hyper's client would not say whether a status line came first.
    let tcp = tokio::net::TcpStream::connect(sim.https_addr())
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tls_connector(&sim).connect(name, tcp).await.unwrap();
    let body = save_draft_request("Never answered");
    let head = format!(
        "POST {EWS_PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\n\
         Content-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        service_auth(),
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(body.as_bytes()).await.unwrap();
    tls.flush().await.unwrap();

    let mut answer = Vec::new();
    // The server drops the socket without a TLS close_notify, which rustls reports as an
    // unexpected EOF; what matters is that nothing came before it.
    let _ = tls.read_to_end(&mut answer).await;

    assert!(
        answer.is_empty(),
        "no answer expected, got {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(sim.request_count("CreateItem"), 1);
    let drafts = sim
        .exchange()
        .items(ALICE, exsync_ews_sim::store::DistinguishedFolder::Drafts)
        .unwrap();
    let subjects: Vec<_> = drafts.iter().filter_map(|i| i.subject.as_deref()).collect();
    assert_eq!(subjects, ["Never answered"], "the operation ran");
    eventually("the simulator has closed the connection", || {
        sim.open_connections() == 0
    })
    .await;
}

#[tokio::test]
async fn truncated_xml_is_a_complete_http_answer_with_a_cut_document() {
    let sim = start();
    let normal = get_folder(&sim).await;
    sim.set_faults(vec![FaultRule::next(None, 1, FaultKind::TruncatedXml)]);
    let reply = get_folder(&sim).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_length(), Some(reply.body.len()));
    assert!(!reply.body.is_empty());
    assert!(reply.body.len() < normal.body.len());
    assert!(!is_well_formed(&reply.body));
}

#[tokio::test]
async fn malformed_xml_is_not_well_formed() {
    let sim = start();
    sim.set_faults(vec![FaultRule::next(None, 1, FaultKind::MalformedXml)]);
    let reply = get_folder(&sim).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.starts_with("<?xml"));
    assert!(!is_well_formed(&reply.body));
}

#[tokio::test]
async fn html_error_page_has_the_requested_status() {
    let sim = start();
    sim.set_faults(vec![FaultRule::sequence(
        None,
        vec![
            Some(FaultKind::HtmlErrorPage { status: 502 }),
            Some(FaultKind::HtmlErrorPage { status: 504 }),
        ],
    )]);
    for expected in [502, 504] {
        let reply = get_folder(&sim).await;
        assert_eq!(reply.status, expected);
        assert_eq!(reply.headers["content-type"], "text/html");
        assert!(reply.body.contains("<html>"));
    }
}

#[tokio::test]
async fn unauthorized_fault_makes_the_connection_authenticate_again() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let first = conn
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_eq!(first.status, 200);
    sim.set_faults(vec![FaultRule::next(None, 1, FaultKind::Unauthorized)]);
    let refused = conn
        .post(EWS_PATH, None, &get_folder_request())
        .await
        .unwrap();
    assert_eq!(refused.status, 401);
    let still = conn
        .post(EWS_PATH, None, &get_folder_request())
        .await
        .unwrap();
    assert_eq!(still.status, 401, "the connection lost its authentication");
    let again = conn
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_eq!(again.status, 200);
}

#[tokio::test]
async fn next_three_calls_fail_then_calls_are_normal() {
    let sim = start();
    sim.set_faults(vec![FaultRule::next(
        Some("GetFolder"),
        3,
        FaultKind::ServiceUnavailable,
    )]);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get_folder(&sim).await.status);
    }
    assert_eq!(&statuses[..3], &[503, 503, 503]);
    assert_eq!(statuses[3], 200);
    assert_eq!(sim.request_count("GetFolder"), 4);
}

#[tokio::test]
async fn fault_for_another_operation_leaves_this_one_alone() {
    let sim = start();
    sim.set_faults(vec![FaultRule::always(
        Some("SyncFolderItems"),
        FaultKind::ServiceUnavailable,
    )]);
    assert_eq!(get_folder(&sim).await.status, 200);
}

#[tokio::test]
async fn faults_apply_only_after_authentication() {
    let sim = start();
    sim.set_faults(vec![FaultRule::next(
        None,
        1,
        FaultKind::ServiceUnavailable,
    )]);
    let mut conn = Connection::open(&sim).await;
    let anonymous = conn
        .post(EWS_PATH, None, &get_folder_request())
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        get_folder(&sim).await.status,
        503,
        "the fault was not used up"
    );
}

#[tokio::test]
async fn clear_faults_restores_normal_answers() {
    let sim = start();
    sim.set_faults(vec![FaultRule::always(None, FaultKind::ServiceUnavailable)]);
    assert_eq!(get_folder(&sim).await.status, 503);
    sim.clear_faults();
    assert_eq!(get_folder(&sim).await.status, 200);
}

#[test]
fn inner_server_busy_answers_validate_against_the_ews_schema() {
    let schema = SimOptions::default().schema_dir.join("soap-envelope.xsd");
    assert!(
        schema.exists(),
        "EWS schema not found at {}",
        schema.display()
    );
    let dir = std::env::temp_dir().join(format!("ews-sim-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for op in [
        "GetItem",
        "CreateItem",
        "UpdateItem",
        "MoveItem",
        "DeleteItem",
        "SendItem",
        "GetFolder",
        "FindFolder",
        "CreateFolder",
        "FindItem",
        "SyncFolderItems",
        "SyncFolderHierarchy",
        "GetAttachment",
        "ResolveNames",
    ] {
        let body = exsync_ews_sim::faults::inner_server_busy_body(
            op,
            Some(1000),
            exsync_ews_sim::config::ServerVersion::Exchange2016.server_version_info(),
        )
        .unwrap();
        let path = dir.join(format!("{op}.xml"));
        std::fs::write(&path, body).unwrap();
        files.push(path);
    }
    let output = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&schema)
        .args(&files)
        .output()
        .expect("xmllint is installed (libxml2-utils)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
