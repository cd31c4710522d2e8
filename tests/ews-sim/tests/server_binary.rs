//! The `ews-sim` binary: starts from the shipped example configuration, tells scripts where it
//! listens, serves, and stops on SIGTERM.

mod server_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_ews-sim");

fn example_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("example-config.json")
}

/// A running `ews-sim` and the `key=value` lines it printed up to `ready`.
struct Running {
    child: Child,
    info: HashMap<String, String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> Running {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut info = HashMap::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some((k, v)) = line.split_once('=') {
                info.insert(k.to_owned(), v.to_owned());
            }
            if line == "ready=1" {
                break;
            }
        }
        let _ = tx.send(info);
    });
    // A bound on waiting, so a broken binary fails the test instead of hanging it.
    let info = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("ews-sim printed its lines");
    Running { child, info }
}

fn curl(ca: &str, args: &[&str], url: &str) -> u16 {
    let output = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            ca,
        ])
        .args(["-H", "Content-Type: text/xml; charset=utf-8"])
        .args(["--data-binary", &server_support::get_folder_request()])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn binary_prints_stable_keys_and_serves_the_example_configuration() {
    let ca_dir = std::env::temp_dir().join(format!("ews-sim-bin-{}", std::process::id()));
    let ca = ca_dir.join("ca.pem");
    let sim = spawn(&[
        "--config",
        example_config().to_str().unwrap(),
        "--ca-out",
        ca.to_str().unwrap(),
    ]);
    for key in [
        "ews_url",
        "autodiscover_url",
        "http_probe",
        "http_probe_url",
        "https_addr",
        "control_url",
        "ca_path",
        "ready",
    ] {
        assert!(sim.info.contains_key(key), "{key} missing: {:?}", sim.info);
    }
    assert_eq!(sim.info["ca_path"], ca.display().to_string());
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let ews = &sim.info["ews_url"];
    assert!(ews.starts_with("https://localhost:") && ews.ends_with("/EWS/Exchange.asmx"));

    let ca_path = ca.to_str().unwrap();
    assert_eq!(curl(ca_path, &[], ews), 401);
    assert_eq!(
        curl(
            ca_path,
            &["--ntlm", "-u", "CONTOSO\\svc-exsync:Demo-Service-Pa55!"],
            ews
        ),
        200
    );
    assert_eq!(
        curl(ca_path, &["--basic", "-u", "alice@contoso.test:wrong"], ews),
        401
    );
    let _ = std::fs::remove_dir_all(&ca_dir);
}

#[test]
fn binary_stops_cleanly_on_sigterm() {
    let mut sim = spawn(&["--config", example_config().to_str().unwrap()]);
    let status = Command::new("kill")
        .args(["-TERM", &sim.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = sim.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(
        !Path::new(&sim.info["ca_path"]).exists(),
        "the temporary CA is removed on exit"
    );
}

#[test]
fn binary_refuses_a_missing_configuration() {
    let output = Command::new(BINARY)
        .args(["--config", "/nonexistent/sim.json"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn binary_serves_the_demo_configuration_with_its_arrivals_and_stops_on_sigterm() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo-config.json");
    let mut sim = spawn(&["--config", config.to_str().unwrap()]);
    let output = Command::new("curl")
        .args(["-sS", "--cacert", &sim.info["ca_path"]])
        .arg(format!("{}arrivals", sim.info["control_url"]))
        .output()
        .expect("curl is installed");
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["paused"], false, "{status}");
    assert_eq!(
        status["streams"].as_array().map(Vec::len),
        Some(2),
        "{status}"
    );

    let ca_path = sim.info["ca_path"].clone();
    assert_eq!(
        curl(
            &ca_path,
            &["--ntlm", "-u", "CONTOSO\\svc-exsync:Demo-Service-Pa55!"],
            &sim.info["ews_url"]
        ),
        200
    );
    let kill = Command::new("kill")
        .args(["-TERM", &sim.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let exit = sim.child.wait().unwrap();
    assert!(
        exit.success(),
        "the arrival streams do not hold up the exit: {exit:?}"
    );
}
