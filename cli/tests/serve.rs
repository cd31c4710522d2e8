//! `exsync serve` end to end: the real binary with `--init` against the local AWS endpoint
//! (`scripts/with-moto.sh` exports `AWS_ENDPOINT_URL`), driven over plain HTTP/1.1.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// The server, killed when the test ends however it ends.
struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `exsync serve --init` on a free loopback port with its own table, queues and key,
/// and reads the address it prints.
fn serve(label: &str) -> Served {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: run the tests under scripts/with-moto.sh"
    );
    let unique = format!("cli-{label}-{}", std::process::id());
    let mut child = Command::new(env!("CARGO_BIN_EXE_exsync"))
        .args([
            "serve",
            "--init",
            "--listen",
            "127.0.0.1:0",
            "--stack",
            &unique,
        ])
        // From a directory without template.yaml: the built-in template is used.
        .current_dir(std::env::temp_dir())
        .env_remove("EXSYNC_TABLE")
        .env("EXSYNC_BOOTSTRAP_ADMIN", "admin")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("exsync runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut served = Served {
        child,
        addr: String::new(),
    };
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line of output");
        if let Some(rest) = line.strip_prefix("exsync serve: listening on http://") {
            served.addr = rest.split_whitespace().next().unwrap_or("").to_owned();
            return served;
        }
    }
    panic!("exsync serve ended without printing its address");
}

/// One request; the status and the body.
fn request(addr: &str, method: &str, path: &str, principal: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("the server accepts");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(p) = principal {
        head.push_str(&format!("X-Exsync-Principal: {p}\r\n"));
    }
    if method == "POST" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn json(body: &str) -> serde_json::Value {
    // The body may be chunked; the JSON document is the line that starts with `{`.
    let doc = body
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {body:?}"));
    serde_json::from_str(doc).unwrap()
}

#[test]
fn serve_answers_the_bootstrap_administrator_with_every_privilege() {
    let served = serve("me");
    let (status, body) = request(&served.addr, "GET", "/me", Some("admin"));
    assert_eq!(status, 200, "{body}");
    let me = json(&body);
    assert_eq!(me["principal"], "admin");
    assert!(
        me["privileges"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("manage_roles")),
        "{me}"
    );
}

#[test]
fn serve_refuses_a_caller_without_the_principal_header() {
    let served = serve("anonymous");
    let (status, _) = request(&served.addr, "GET", "/profiles", None);
    assert_eq!(status, 401);
}

#[test]
fn serve_runs_queued_jobs_through_its_own_poller() {
    let served = serve("jobs");
    // A profile without mailboxes: its Test & Enable job has nothing to test, so it
    // completes as soon as the poller hands it to the jobs handler.
    let create = format!(
        "POST /profiles HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\nX-Exsync-Principal: admin\r\nContent-Type: application/json\r\nContent-Length: {{len}}\r\n\r\n{{body}}",
        a = served.addr
    );
    let body = serde_json::json!({
        "name": "Empty",
        "owner_email": "admin@contoso.test",
        "exchange_version": "2016",
        "user_name": "CONTOSO\\svc-exsync",
        "password": "irrelevant",
    })
    .to_string();
    let raw = create
        .replace("{len}", &body.len().to_string())
        .replace("{body}", &body);
    let mut stream = TcpStream::connect(&served.addr).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let profile = json(answer.split_once("\r\n\r\n").unwrap().1);
    let id = profile["id"].as_str().unwrap();

    let (status, body) = request(
        &served.addr,
        "POST",
        &format!("/profiles/{id}/test-and-enable"),
        Some("admin"),
    );
    assert_eq!(status, 202, "{body}");
    let job_id = json(&body)["id"].as_str().unwrap().to_owned();
    // The poller long-polls the queue; the job's state is what the test waits on.
    for _ in 0..600 {
        let (status, body) = request(
            &served.addr,
            "GET",
            &format!("/jobs/{job_id}"),
            Some("admin"),
        );
        assert_eq!(status, 200, "{body}");
        if json(&body)["state"] == "completed" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the job never completed");
}
