//! Authentication at the simulator's front door, driven by real clients: `sspi`'s NTLM client
//! over one owned HTTPS connection, plain Basic headers, and `curl --ntlm`.

mod server_support;

use server_support::*;

fn assert_refused(reply: &Reply) {
    assert_eq!(reply.status, 401, "{reply:?}");
    assert!(
        reply.content_length().is_some(),
        "every 401 carries Content-Length: {reply:?}"
    );
}

#[tokio::test]
async fn ntlm_handshake_with_the_right_password_is_accepted() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(sim.load(SERVICE_USER).connections, 1);
}

#[tokio::test]
async fn ntlm_with_a_upn_logon_is_accepted() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .ntlm(
            EWS_PATH,
            "svc-exsync@contoso.test",
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn ntlm_with_a_wrong_password_is_refused() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            "wrong-password",
            &get_folder_request(),
        )
        .await;
    assert_refused(&reply);
    assert_eq!(
        reply.www_authenticate(),
        vec!["NTLM", "Basic realm=\"localhost\""]
    );
}

#[tokio::test]
async fn ntlm_for_an_unknown_user_is_refused() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .ntlm(
            EWS_PATH,
            "CONTOSO\\mallory",
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_refused(&reply);
}

#[tokio::test]
async fn ntlm_from_a_foreign_domain_is_refused() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .ntlm(
            EWS_PATH,
            "FABRIKAM\\svc-exsync",
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_refused(&reply);
}

#[tokio::test]
async fn a_changed_password_refuses_the_old_one() {
    let sim = start();
    sim.directory_mut()
        .set_password(SERVICE_USER, "Rotated-Pa55!");
    let mut old = Connection::open(&sim).await;
    let refused = old
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_refused(&refused);
    let mut new = Connection::open(&sim).await;
    let accepted = new
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            "Rotated-Pa55!",
            &get_folder_request(),
        )
        .await;
    assert_eq!(accepted.status, 200);
}

#[tokio::test]
async fn unauthenticated_request_is_offered_both_schemes() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .post(EWS_PATH, None, &get_folder_request())
        .await
        .unwrap();
    assert_refused(&reply);
    assert_eq!(
        reply.www_authenticate(),
        vec!["NTLM", "Basic realm=\"localhost\""]
    );
}

#[tokio::test]
async fn unfinished_handshake_leaves_the_connection_unauthenticated() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let mut client = NtlmClient::new(SERVICE_LOGON, SERVICE_PASSWORD);
    let negotiate = format!(
        "NTLM {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            client.negotiate()
        )
    );
    let challenge = conn.post(EWS_PATH, Some(&negotiate), "").await.unwrap();
    assert_refused(&challenge);
    assert!(challenge.ntlm_challenge().is_some());

    // The client never sends its AUTHENTICATE message.
    let reply = conn
        .post(EWS_PATH, None, &get_folder_request())
        .await
        .unwrap();
    assert_refused(&reply);
    assert!(reply.ntlm_challenge().is_none());
}

#[tokio::test]
async fn authenticated_connection_stays_authenticated_without_a_header() {
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
    for _ in 0..3 {
        let reply = conn
            .post(EWS_PATH, None, &get_folder_request())
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    assert_eq!(sim.open_connections(), 1, "all on the one connection");
}

#[tokio::test]
async fn another_connection_must_authenticate_on_its_own() {
    let sim = start();
    let mut first = Connection::open(&sim).await;
    let reply = first
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_eq!(reply.status, 200);
    let mut second = Connection::open(&sim).await;
    let reply = second
        .post(EWS_PATH, None, &get_folder_request())
        .await
        .unwrap();
    assert_refused(&reply);
}

#[tokio::test]
async fn close_connections_forces_a_new_handshake() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_eq!(reply.status, 200);

    sim.close_connections();
    conn.closed_by_server().await;
    eventually("the connection is gone", || sim.open_connections() == 0).await;

    let mut fresh = Connection::open(&sim).await;
    let unauthenticated = fresh
        .post(EWS_PATH, None, &get_folder_request())
        .await
        .unwrap();
    assert_refused(&unauthenticated);
    let again = fresh
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
async fn a_401_keeps_the_connection_for_the_next_leg() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    // A large body that the server must read before it answers 401.
    let big = format!("<x>{}</x>", "a".repeat(512 * 1024));
    let refused = conn.post(EWS_PATH, None, &big).await.unwrap();
    assert_refused(&refused);
    let reply = conn
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(sim.open_connections(), 1);
}

#[tokio::test]
async fn basic_accepts_every_logon_form() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    for logon in [SERVICE_LOGON, "svc-exsync@contoso.test", SERVICE_USER] {
        let reply = conn
            .post(
                EWS_PATH,
                Some(&basic(logon, SERVICE_PASSWORD)),
                &get_folder_request(),
            )
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "{logon}: {reply:?}");
    }
}

#[tokio::test]
async fn basic_with_a_wrong_password_is_refused() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .post(
            EWS_PATH,
            Some(&basic(SERVICE_LOGON, "nope")),
            &get_folder_request(),
        )
        .await
        .unwrap();
    assert_refused(&reply);
}

#[tokio::test]
async fn basic_authenticates_only_its_own_request() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .post(
            EWS_PATH,
            Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
            &get_folder_request(),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    let next = conn
        .post(EWS_PATH, None, &get_folder_request())
        .await
        .unwrap();
    assert_refused(&next);
}

#[tokio::test]
async fn with_basic_off_basic_is_refused_and_ntlm_still_works() {
    let sim = start();
    sim.set_auth(true, false);
    let mut conn = Connection::open(&sim).await;
    let refused = conn
        .post(
            EWS_PATH,
            Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
            &get_folder_request(),
        )
        .await
        .unwrap();
    assert_refused(&refused);
    assert_eq!(refused.www_authenticate(), vec!["NTLM"]);
    let accepted = conn
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_eq!(accepted.status, 200);
}

#[tokio::test]
async fn with_ntlm_off_only_basic_is_offered() {
    let sim = start();
    sim.set_auth(false, true);
    let mut conn = Connection::open(&sim).await;
    let mut client = NtlmClient::new(SERVICE_LOGON, SERVICE_PASSWORD);
    let negotiate = format!(
        "NTLM {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            client.negotiate()
        )
    );
    let reply = conn.post(EWS_PATH, Some(&negotiate), "").await.unwrap();
    assert_refused(&reply);
    assert!(
        reply.ntlm_challenge().is_none(),
        "no challenge when NTLM is off"
    );
    assert_eq!(reply.www_authenticate(), vec!["Basic realm=\"localhost\""]);
}

#[tokio::test]
async fn switching_ntlm_off_ends_authenticated_connections() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_eq!(reply.status, 200);
    sim.set_auth(false, true);
    let reply = conn
        .post(EWS_PATH, None, &get_folder_request())
        .await
        .unwrap();
    assert_refused(&reply);
}

#[tokio::test]
async fn ews_path_is_case_insensitive_and_other_paths_are_not_found() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let auth = basic(SERVICE_LOGON, SERVICE_PASSWORD);
    let lower = conn
        .post("/ews/exchange.asmx", Some(&auth), &get_folder_request())
        .await
        .unwrap();
    assert_eq!(lower.status, 200);
    let other = conn
        .post("/owa/", Some(&auth), &get_folder_request())
        .await
        .unwrap();
    assert_eq!(other.status, 404);
}

#[test]
fn curl_ntlm_is_accepted() {
    let sim = start();
    let result = curl(
        &sim,
        &[
            "--ntlm",
            "-u",
            &format!("{SERVICE_LOGON}:{SERVICE_PASSWORD}"),
        ],
        sim.ews_url(),
        &get_folder_request(),
    );
    assert_eq!(result.status, 200, "{result:?}");
}

#[test]
fn curl_ntlm_with_a_wrong_password_ends_in_401() {
    let sim = start();
    let result = curl(
        &sim,
        &["--ntlm", "-u", &format!("{SERVICE_LOGON}:wrong")],
        sim.ews_url(),
        &get_folder_request(),
    );
    assert_eq!(result.status, 401, "{result:?}");
}

#[test]
fn curl_basic_is_accepted() {
    let sim = start();
    let result = curl(
        &sim,
        &[
            "--basic",
            "-u",
            &format!("{SERVICE_LOGON}:{SERVICE_PASSWORD}"),
        ],
        sim.ews_url(),
        &get_folder_request(),
    );
    assert_eq!(result.status, 200, "{result:?}");
}

#[tokio::test]
async fn concurrent_handshakes_on_separate_connections_all_succeed() {
    let sim = start();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut conn = Connection::open(&sim).await;
        tasks.push(tokio::spawn(async move {
            let status = conn
                .ntlm(
                    EWS_PATH,
                    SERVICE_LOGON,
                    SERVICE_PASSWORD,
                    &get_folder_request(),
                )
                .await
                .status;
            // Kept open, so all eight are authenticated connections at once.
            (status, conn)
        }));
    }
    let mut open = Vec::new();
    for task in tasks {
        let (status, conn) = task.await.unwrap();
        assert_eq!(status, 200);
        open.push(conn);
    }
    assert_eq!(sim.peak_connections(SERVICE_USER), 8);
}

#[tokio::test]
async fn oversized_request_is_refused_with_413() {
    let sim = exsync_ews_sim::Simulator::start(
        config(),
        exsync_ews_sim::SimOptions {
            max_request_bytes: 4096,
            ..exsync_ews_sim::SimOptions::default()
        },
    )
    .unwrap();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .post(
            EWS_PATH,
            Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
            &"x".repeat(8192),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 413);
}
