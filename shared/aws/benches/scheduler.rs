//! How long one scheduler tick takes to enqueue N due mailboxes, and how much memory it
//! needs: `docs/performance.md`, "Scheduler".
//!
//!     scripts/with-moto.sh cargo bench -p exsync-aws --bench scheduler -- 1000
//!     EXSYNC_BENCH_SQS_LATENCY_MS=20 scripts/with-moto.sh \
//!         cargo bench -p exsync-aws --bench scheduler -- 10000 20000
//!     EXSYNC_BENCH_SQS_LATENCY_MS=20 EXSYNC_BENCH_DUE_LATENCY_MS=20 scripts/with-moto.sh \
//!         cargo bench -p exsync-aws --bench scheduler -- 100000
//!
//! For each N: a fresh stack from template.yaml on the local endpoint, 100 profiles, and N
//! due-index entries written straight with BatchWriteItem (the fast path: only the
//! attributes the `due` index projects, all due in one minute, spread over the 16 shards
//! and the 100 profiles); then the real `Scheduler::run_tick` (176 index queries, one
//! GetItem per profile, SendMessageBatch of 10, 32 calls in flight), timed by the tick's
//! own report (read, enqueue), with its peak resident memory (VmHWM, reset just before).
//!
//! Two stand-ins, each opt-in, replace a moto service whose cost model is not AWS's:
//!
//! - `EXSYNC_BENCH_SQS_LATENCY_MS`: the poll queue is a loopback endpoint speaking SQS's
//!   JSON protocol that accepts every SendMessageBatch after that many milliseconds. moto's
//!   SendMessageBatch recomputes the queue's attributes over every stored message for each
//!   entry, so its cost grows with the queue (quadratic over a tick). The stand-in still
//!   runs the real SDK client, serialisation, concurrency and retry code, and counts what it
//!   accepted.
//! - `EXSYNC_BENCH_DUE_LATENCY_MS`: the due index is read from memory in pages of 6,500
//!   entries (about DynamoDB's 1 MB page of this index), each after that many
//!   milliseconds; nothing is seeded. moto answers a Query on an index by scanning the
//!   whole table, so 176 queries over a 100,000-item table take many minutes; DynamoDB's
//!   cost is per item returned. Profiles are still read from moto.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use exsync_aws::config::load_sdk_config;
use exsync_aws::init::{InitOptions, ensure_resources};
use exsync_aws::poll_queue::{BATCH_MAX, DEFAULT_CONCURRENCY};
use exsync_aws::{DynamoStore, SqsPollQueue, keys};
use exsync_domain::DomainError;
use exsync_domain::ids::MailboxId;
use exsync_domain::mailbox::Workload;
use exsync_domain::ports::{ConfigStore, DueEntry, DueIndex, Page};
use exsync_domain::profile::Profile;
use exsync_domain::schedule::poll_group_for;
use exsync_domain::sync::scheduler::{Scheduler, SchedulerOptions, SchedulerPorts};
use futures_util::stream::{self, StreamExt};
use time::OffsetDateTime;

const PROFILES: usize = 100;
/// BatchWriteItem calls in flight while seeding.
const SEED_CONCURRENCY: usize = 8;
const SQS_LATENCY_VAR: &str = "EXSYNC_BENCH_SQS_LATENCY_MS";
const DUE_LATENCY_VAR: &str = "EXSYNC_BENCH_DUE_LATENCY_MS";
/// Entries per page of the due-index stand-in: DynamoDB's 1 MB page over entries of about
/// 150 bytes.
const DUE_PAGE: usize = 6_500;

fn latency(var: &str) -> Option<Duration> {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() { vec![1000] } else { sizes };
    let sqs_latency = latency(SQS_LATENCY_VAR);
    let due_latency = latency(DUE_LATENCY_VAR);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    for n in sizes {
        rt.block_on(run(n, sqs_latency, due_latency));
    }
}

fn profile(i: usize) -> Profile {
    let t = "2026-01-01T00:00:00Z";
    serde_json::from_value(serde_json::json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "name": format!("Profile {i}"), "description": "",
        "owner": {"principal": "admin", "email": "admin@contoso.com"},
        "exchange_version": "2016", "use_autodiscover": true,
        "use_same_settings_for_outgoing": true, "auth_type": "ntlm",
        "credentials_location": "profile", "user_name": "CONTOSO\\svc",
        "process_email_from": t, "min_polling_interval_minutes": 0,
        "max_concurrent_connections": 10, "connection_timeout_seconds": 100,
        "move_failed_to_undeliverable": false, "alert_owner_on_majority_failure": false,
        "is_default_for_new_mailboxes": false, "active": true, "version": 1,
        "created_at": t, "modified_at": t,
    }))
    .expect("a valid profile")
}

/// The item a schedulable mailbox puts on the due index, reduced to what the index
/// projects (the scheduler never reads the rest).
fn due_item(id: &MailboxId, profile: &Profile, interval: u32) -> WriteRequest {
    let slot = keys::due_slot(id, interval);
    let key = keys::mailbox(id);
    let item = [
        (keys::PK, AttributeValue::S(key.pk)),
        (keys::SK, AttributeValue::S(key.sk)),
        (keys::DUEPK, AttributeValue::S(slot.duepk)),
        (keys::DUESK, AttributeValue::S(slot.duesk)),
        (
            keys::DUE_PROFILE_ID,
            AttributeValue::S(profile.id.to_string()),
        ),
        (
            keys::DUE_WORKLOADS,
            AttributeValue::L(vec![AttributeValue::S("incoming".into())]),
        ),
        (
            keys::DUE_POLL_GROUP,
            AttributeValue::S(poll_group_for(id, profile)),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .expect("a put request"),
        )
        .build()
}

async fn seed(client: &aws_sdk_dynamodb::Client, table: &str, requests: Vec<WriteRequest>) {
    let calls: Vec<Vec<WriteRequest>> = requests.chunks(25).map(<[_]>::to_vec).collect();
    stream::iter(calls)
        .map(|mut pending| async move {
            while !pending.is_empty() {
                let out = client
                    .batch_write_item()
                    .request_items(table, pending)
                    .send()
                    .await
                    .expect("BatchWriteItem");
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(table))
                    .unwrap_or_default();
            }
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
}

/// VmHWM (peak resident set) of this process, in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets VmHWM to the current resident set (Linux: `5` to clear_refs).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

// --- the SQS stand-in ---------------------------------------------------------------------

/// A loopback endpoint speaking SQS's JSON protocol for SendMessageBatch only: every entry
/// accepted after `latency`.
struct SqsStandIn {
    url: String,
    accepted: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
}

async fn sqs_stand_in(latency: Duration) -> SqsStandIn {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use md5::{Digest, Md5};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let (acc, cnt) = (accepted.clone(), calls.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (acc, cnt) = (acc.clone(), cnt.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (acc, cnt) = (acc.clone(), cnt.clone());
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            let request: serde_json::Value =
                                serde_json::from_slice(&body).unwrap_or_default();
                            let entries =
                                request["Entries"].as_array().cloned().unwrap_or_default();
                            let successful: Vec<serde_json::Value> = entries
                                .iter()
                                .map(|e| {
                                    let body = e["MessageBody"].as_str().unwrap_or("");
                                    let md5: String = Md5::digest(body.as_bytes())
                                        .iter()
                                        .map(|b| format!("{b:02x}"))
                                        .collect();
                                    serde_json::json!({
                                        "Id": e["Id"],
                                        "MessageId": uuid::Uuid::new_v4().to_string(),
                                        "MD5OfMessageBody": md5,
                                        "SequenceNumber": "1",
                                    })
                                })
                                .collect();
                            tokio::time::sleep(latency).await;
                            cnt.fetch_add(1, Ordering::Relaxed);
                            acc.fetch_add(successful.len(), Ordering::Relaxed);
                            let answer =
                                serde_json::json!({"Successful": successful, "Failed": []});
                            let response = hyper::Response::builder()
                                .header("content-type", "application/x-amz-json-1.0")
                                .body(Full::new(Bytes::from(answer.to_string())))
                                .expect("a response");
                            Ok::<_, hyper::Error>(response)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    SqsStandIn {
        url,
        accepted,
        calls,
    }
}

// --- the due-index stand-in ---------------------------------------------------------------

/// The due index in memory: each slot's entries, handed out in pages after a latency.
struct DueStandIn {
    slots: std::collections::HashMap<(u32, u32, u32), Vec<DueEntry>>,
    latency: Duration,
}

#[async_trait::async_trait]
impl DueIndex for DueStandIn {
    async fn due_mailboxes(
        &self,
        interval: u32,
        phase: u32,
        shard: u32,
        next: Option<String>,
    ) -> Result<Page<DueEntry>, DomainError> {
        tokio::time::sleep(self.latency).await;
        let entries = self
            .slots
            .get(&(interval, phase, shard))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let start: usize = next.and_then(|n| n.parse().ok()).unwrap_or(0);
        let end = (start + DUE_PAGE).min(entries.len());
        Ok(Page {
            items: entries.get(start..end).unwrap_or_default().to_vec(),
            next: (end < entries.len()).then(|| end.to_string()),
        })
    }
}

// --- one run --------------------------------------------------------------------------------

async fn run(n: usize, sqs_latency: Option<Duration>, due_latency: Option<Duration>) {
    let sdk = load_sdk_config()
        .await
        .expect("AWS configuration (run through with-moto.sh)");
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let stack = format!(
        "exsync-bench-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let names = ensure_resources(&sdk, &template, &InitOptions::new(stack))
        .await
        .expect("the stack")
        .names()
        .expect("resource names");
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let store = DynamoStore::new(client.clone(), &names.table);

    let profiles: Vec<Profile> = (0..PROFILES).map(profile).collect();
    for p in &profiles {
        store.create_profile(p).await.expect("a profile");
    }
    let now = OffsetDateTime::now_utc();
    // Interval 1: every entry is due this minute, whatever its phase hash.
    let mailboxes: Vec<(MailboxId, &Profile)> = (0..n)
        .map(|i| (MailboxId::new(), &profiles[i % PROFILES]))
        .collect();
    let seeding = Instant::now();
    let due: Arc<dyn DueIndex> = match due_latency {
        None => {
            let requests = mailboxes.iter().map(|(id, p)| due_item(id, p, 1)).collect();
            seed(&client, &names.table, requests).await;
            Arc::new(store.clone())
        }
        Some(latency) => {
            let mut slots: std::collections::HashMap<(u32, u32, u32), Vec<DueEntry>> =
                std::collections::HashMap::new();
            for (id, p) in &mailboxes {
                let slot = keys::due_slot(id, 1);
                let shard = slot
                    .duepk
                    .rsplit('#')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("a shard");
                slots.entry((1, 0, shard)).or_default().push(DueEntry {
                    mailbox_id: id.clone(),
                    profile_id: Some(p.id.clone()),
                    workloads: vec![Workload::Incoming],
                    postponed_until: None,
                    poll_group: Some(poll_group_for(id, p)),
                });
            }
            Arc::new(DueStandIn { slots, latency })
        }
    };
    let seed_secs = seeding.elapsed().as_secs_f64();
    drop(mailboxes);

    let (queue, stand_in) = match sqs_latency {
        Some(l) => {
            let s = sqs_stand_in(l).await;
            let conf = aws_sdk_sqs::config::Builder::from(&sdk)
                .endpoint_url(&s.url)
                .build();
            let queue =
                SqsPollQueue::new(aws_sdk_sqs::Client::from_conf(conf), &names.poll_queue_url);
            (queue, Some(s))
        }
        None => (
            SqsPollQueue::from_sdk_config(&sdk, &names.poll_queue_url),
            None,
        ),
    };
    let scheduler = Scheduler::new(
        SchedulerPorts {
            due,
            config: Arc::new(store),
            polls: Arc::new(queue),
        },
        SchedulerOptions::default(),
    );

    let peak_reset = reset_peak_rss();
    let before = peak_rss_mib();
    let ticking = Instant::now();
    let report = scheduler.run_tick(now).await.expect("the tick");
    let tick_secs = ticking.elapsed().as_secs_f64();
    let peak = peak_rss_mib();
    assert_eq!(report.due, n, "every seeded entry is due");
    assert_eq!(
        report.enqueued, n,
        "every due mailbox is enqueued: {report:?}"
    );

    let calls = n.div_ceil(BATCH_MAX);
    if let Some(s) = &stand_in {
        assert_eq!(s.accepted.load(Ordering::Relaxed), n);
        assert_eq!(s.calls.load(Ordering::Relaxed), calls);
    }
    let sqs_label = match sqs_latency {
        Some(l) => format!("stand-in {} ms/call", l.as_millis()),
        None => "moto".to_owned(),
    };
    let due_label = match due_latency {
        Some(l) => format!("stand-in {} ms/page", l.as_millis()),
        None => "moto".to_owned(),
    };
    let per_call_ms = report.enqueue_ms as f64 * DEFAULT_CONCURRENCY as f64 / calls.max(1) as f64;
    println!(
        "scheduler bench: N={n} due_index=({due_label}) sqs=({sqs_label}) \
         seed={seed_secs:.1}s tick={tick_secs:.2}s read={:.2}s ({} queries) \
         enqueue={:.2}s ({calls} SendMessageBatch calls, {per_call_ms:.1} ms each at \
         {DEFAULT_CONCURRENCY} in flight) enqueued={} \
         rss_before_tick={:.1}MiB peak_during_tick={:.1}MiB peak_reset={peak_reset}",
        report.read_ms as f64 / 1000.0,
        report.queries,
        report.enqueue_ms as f64 / 1000.0,
        report.enqueued,
        before.unwrap_or(f64::NAN),
        peak.unwrap_or(f64::NAN),
    );
}
