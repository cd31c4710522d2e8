//! `exsync ews probe` against an in-process simulator: the real binary, each step's success
//! and failure, exit codes, and the password staying out of every output.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use support::*;

/// Probes `mailbox` as `user` at the simulator's EWS URL.
fn probe(
    sim: &exsync_ews_sim::SimHandle,
    mailbox: &str,
    user: &str,
    auth: &str,
    password: &str,
    extra: &[&str],
) -> Run {
    let mut args: Vec<String> = vec!["ews".into(), "probe".into()];
    args.extend(account_args(sim, mailbox, user, auth));
    args.extend(["--ews-url".into(), sim.ews_url().to_owned()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_with_password(&args, password)
}

fn step<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {report:#}"))
}

#[test]
fn probe_over_ntlm_passes_every_step_and_reads_the_inbox() {
    let sim = start_sim();
    let run = probe(
        &sim,
        MAILBOX,
        SERVICE_ACCOUNT,
        "ntlm",
        &password(SERVICE_ACCOUNT),
        &["--json"],
    );
    assert_eq!(run.code, Some(0), "{run:#?}");
    let report = run.json();
    assert_eq!(report["ok"], true);
    assert_eq!(step(&report, "autodiscover")["status"], "skipped");
    for name in [
        "connection",
        "tls",
        "authentication",
        "impersonation",
        "mailbox",
    ] {
        assert_eq!(
            step(&report, name)["status"],
            "passed",
            "{name}: {report:#}"
        );
    }
    assert_eq!(
        report["inbox"]["total_count"],
        seeded_subjects(MAILBOX).len()
    );
    assert_eq!(report["auth"], "Ntlm");
}

#[test]
fn probe_over_basic_passes_every_step() {
    let sim = start_sim();
    let run = probe(
        &sim,
        MAILBOX,
        SERVICE_ACCOUNT,
        "basic",
        &password(SERVICE_ACCOUNT),
        &[],
    );
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.stdout.contains("✓ Mailbox"), "{}", run.stdout);
    assert!(run.stdout.contains("(Basic)"), "{}", run.stdout);
    assert!(run.stdout.contains("OK: "), "{}", run.stdout);
}

#[test]
fn wrong_password_fails_at_the_authentication_step_with_its_exit_code() {
    let sim = start_sim();
    let wrong = "Not-The-Pa55word!";
    let run = probe(&sim, MAILBOX, SERVICE_ACCOUNT, "ntlm", wrong, &[]);
    assert_eq!(run.code, Some(13), "{run:#?}");
    assert!(
        run.stdout.contains(
            "✗ Authentication  the service account's user name or password was rejected (HTTP 401 after NTLM authentication)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "check the credentials and that NTLM is enabled on the EWS virtual directory"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("FAILED at the Authentication step (exit code 13)")
    );
}

#[test]
fn neither_the_password_nor_authentication_tokens_appear_in_any_output() {
    let sim = start_sim();
    let right = password(SERVICE_ACCOUNT);
    let wrong = "Not-The-Pa55word!";
    for (password, auth) in [(right.as_str(), "ntlm"), (wrong, "ntlm"), (wrong, "basic")] {
        let basic_token = BASE64.encode(format!("{}:{password}", logon(SERVICE_ACCOUNT)));
        let mut cmd = exsync();
        cmd.env("RUST_LOG", "trace").env(PASSWORD_VAR, password);
        let mut args: Vec<String> = vec!["ews".into(), "probe".into()];
        args.extend(account_args(&sim, MAILBOX, SERVICE_ACCOUNT, auth));
        args.extend(["--ews-url".into(), sim.ews_url().to_owned()]);
        let run: Run = cmd.args(&args).output().unwrap().into();
        assert!(!run.stderr.is_empty(), "trace logging produced nothing");
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(password), "password printed:\n{text}");
            // "NTLMSSP" in base64 starts every NTLM message.
            assert!(!text.contains("TlRMTVNT"), "NTLM token printed:\n{text}");
            assert!(
                !text.contains(&basic_token),
                "Basic credentials printed:\n{text}"
            );
        }
    }
}

#[test]
fn a_mailbox_without_an_impersonation_grant_fails_at_the_impersonation_step() {
    let sim = start_sim();
    let denied = "carol@contoso.test";
    sim.directory_mut().revoke_mailbox(SERVICE_ACCOUNT, denied);
    let run = probe(
        &sim,
        denied,
        SERVICE_ACCOUNT,
        "ntlm",
        &password(SERVICE_ACCOUNT),
        &["--json"],
    );
    assert_eq!(run.code, Some(14), "{run:#?}");
    let report = run.json();
    assert_eq!(report["failed_step"], "impersonation");
    let failed = step(&report, "impersonation");
    assert_eq!(failed["response_code"], "ErrorImpersonateUserDenied");
    assert!(
        failed["advice"]
            .as_str()
            .unwrap()
            .contains("-Role ApplicationImpersonation -User svc-exsync"),
        "{failed:#}"
    );
    assert_eq!(step(&report, "authentication")["status"], "passed");
    assert_eq!(step(&report, "mailbox")["status"], "not_run");
}

#[test]
fn an_unknown_mailbox_fails_at_the_mailbox_step() {
    let sim = start_sim();
    let run = probe(
        &sim,
        "nobody@contoso.test",
        SERVICE_ACCOUNT,
        "ntlm",
        &password(SERVICE_ACCOUNT),
        &["--json"],
    );
    assert_eq!(run.code, Some(15), "{run:#?}");
    let report = run.json();
    assert_eq!(report["failed_step"], "mailbox");
    assert_eq!(
        step(&report, "mailbox")["response_code"],
        "ErrorNonExistentMailbox"
    );
    // Exchange refuses the unknown address before it checks the right to impersonate.
    assert_eq!(step(&report, "impersonation")["status"], "not_run");
    assert_eq!(step(&report, "authentication")["status"], "passed");
}

#[test]
fn without_the_servers_ca_the_tls_step_fails() {
    let sim = start_sim();
    let args = [
        "ews",
        "probe",
        "--email",
        MAILBOX,
        "--user",
        &logon(SERVICE_ACCOUNT),
        "--password-env",
        PASSWORD_VAR,
        "--auth",
        "ntlm",
        "--ews-url",
        sim.ews_url(),
    ];
    let run = run_with_password(&args, &password(SERVICE_ACCOUNT));
    assert_eq!(run.code, Some(12), "{run:#?}");
    assert!(
        run.stdout
            .contains("✗ TLS             the server's certificate is not trusted"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("pass --ca-file"), "{}", run.stdout);
}

#[test]
fn another_servers_ca_fails_the_tls_step() {
    let sim = start_sim();
    let other = start_sim();
    let mut args: Vec<String> = vec!["ews".into(), "probe".into()];
    args.extend(account_args(&other, MAILBOX, SERVICE_ACCOUNT, "ntlm"));
    args.extend([
        "--ews-url".into(),
        sim.ews_url().to_owned(),
        "--json".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_with_password(&args, &password(SERVICE_ACCOUNT));
    assert_eq!(run.code, Some(12), "{run:#?}");
    assert_eq!(run.json()["failed_step"], "tls");
}

#[test]
fn a_closed_port_fails_at_the_connection_step_naming_host_and_port() {
    let sim = start_sim();
    let port = closed_port();
    let url = format!("https://127.0.0.1:{port}/EWS/Exchange.asmx");
    let mut args: Vec<String> = vec!["ews".into(), "probe".into()];
    args.extend(account_args(&sim, MAILBOX, SERVICE_ACCOUNT, "ntlm"));
    args.extend(["--ews-url".into(), url]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_with_password(&args, &password(SERVICE_ACCOUNT));
    assert_eq!(run.code, Some(11), "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("✗ Connection      cannot reach 127.0.0.1:{port}")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("· TLS             not run"));
}

#[test]
fn autodiscover_through_resolve_finds_the_ews_url_and_passes() {
    let sim = start_sim();
    let addr = sim.https_addr().to_string();
    let domain_root = format!("contoso.test:443:{addr}");
    let autodiscover_host = format!("autodiscover.contoso.test:443:{addr}");
    let mut args: Vec<String> = vec!["ews".into(), "probe".into()];
    args.extend(account_args(&sim, MAILBOX, SERVICE_ACCOUNT, "ntlm"));
    args.extend([
        "--autodiscover".into(),
        "--resolve".into(),
        domain_root,
        "--resolve".into(),
        autodiscover_host,
        "--json".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_with_password(&args, &password(SERVICE_ACCOUNT));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let report = run.json();
    assert_eq!(step(&report, "autodiscover")["status"], "passed");
    assert_eq!(report["ews_url"], sim.ews_url());
    let first = &report["autodiscover_attempts"][0];
    assert_eq!(
        first["url"],
        "https://contoso.test/autodiscover/autodiscover.xml"
    );
    assert_eq!(first["outcome"]["kind"], "discovered");
}

#[test]
fn autodiscover_attempts_are_listed_in_the_text_diagnosis() {
    let sim = start_sim();
    let addr = sim.https_addr().to_string();
    let mut args: Vec<String> = vec!["ews".into(), "probe".into()];
    args.extend(account_args(&sim, MAILBOX, SERVICE_ACCOUNT, "ntlm"));
    args.extend([
        "--autodiscover".into(),
        "--resolve".into(),
        format!("contoso.test:443:{addr}"),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_with_password(&args, &password(SERVICE_ACCOUNT));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let expected = format!(
        "1. domain_root https://contoso.test/autodiscover/autodiscover.xml → EWS URL {}",
        sim.ews_url()
    );
    assert!(run.stdout.contains(&expected), "{}", run.stdout);
}

#[test]
fn an_unset_password_variable_is_a_usage_error_naming_it() {
    let sim = start_sim();
    let mut args: Vec<String> = vec!["ews".into(), "probe".into()];
    args.extend(account_args(&sim, MAILBOX, SERVICE_ACCOUNT, "ntlm"));
    args.extend(["--ews-url".into(), sim.ews_url().to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run(&args);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert_eq!(run.stderr_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains(PASSWORD_VAR), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn the_password_cannot_be_given_as_a_flag() {
    let run = run(&["ews", "probe", "--password", "secret"]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(!run.stdout.contains("secret"));
}

#[test]
fn help_documents_an_exit_code_per_step() {
    let run = run(&["ews", "probe", "--help"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    for line in [
        "10  Autodiscover",
        "11  connection",
        "12  TLS",
        "13  authentication",
        "14  impersonation",
        "15  mailbox",
    ] {
        assert!(run.stdout.contains(line), "no {line:?} in\n{}", run.stdout);
    }
}
