//! What `template.yaml` promises operationally, checked on the file itself (cfn-lint and
//! `sam validate --lint` in `make test` check that it is valid; these check that it is
//! right): queues hide a message longer than its function may run, no data action is
//! granted on every resource, and every dead-letter queue and function is watched by an
//! alarm.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_norway::Value;

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn resources(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v))
        .collect()
}

fn of_type<'a>(t: &'a Value, kind: &str) -> Vec<(String, &'a Value)> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .collect()
}

/// The resource an `!GetAtt Name.Attr` (or `!Ref Name`) points at.
fn target(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "GetAtt" => t
            .value
            .as_str()
            .and_then(|s| s.split('.').next())
            .map(str::to_owned),
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
        _ => None,
    }
}

fn function_timeout(t: &Value, function: &Value) -> u64 {
    function["Properties"]["Timeout"]
        .as_u64()
        .or_else(|| t["Globals"]["Function"]["Timeout"].as_u64())
        .unwrap()
}

const FUNCTION: &str = "AWS::Serverless::Function";

#[test]
fn every_queue_hides_a_message_longer_than_its_function_may_run() {
    let t = template();
    let mut checked = 0;
    for (name, function) in of_type(&t, FUNCTION) {
        let Some(events) = function["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for event in events.values().filter(|e| e["Type"] == "SQS") {
            let queue = target(&event["Properties"]["Queue"]).unwrap();
            let visibility = t["Resources"][queue.as_str()]["Properties"]["VisibilityTimeout"]
                .as_u64()
                .unwrap_or(30);
            let timeout = function_timeout(&t, function);
            assert!(
                visibility > timeout,
                "{queue}'s visibility timeout {visibility} s is not longer than {name}'s timeout {timeout} s"
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "the SQS event sources were not found");
}

/// Every `Action` of an inline statement, with its `Resource`.
fn statements(function: &Value) -> Vec<(Vec<String>, Value)> {
    let mut out = Vec::new();
    for policy in function["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        for s in policy["Statement"].as_sequence().into_iter().flatten() {
            let actions = match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Sequence(a) => a
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            out.push((actions, s["Resource"].clone()));
        }
    }
    out
}

#[test]
fn no_data_action_is_granted_on_every_resource() {
    let t = template();
    for (name, function) in of_type(&t, FUNCTION) {
        for (actions, resource) in statements(function) {
            let data = actions.iter().any(|a| {
                ["dynamodb:", "sqs:", "kms:"]
                    .iter()
                    .any(|service| a.starts_with(service))
            });
            let everything = resource == "*"
                || resource
                    .as_sequence()
                    .is_some_and(|r| r.iter().any(|r| r == "*"));
            assert!(
                !(data && everything),
                "{name} grants {actions:?} on every resource"
            );
        }
    }
}

/// The alarms as (metric, dimension value's target resource).
fn alarms(t: &Value) -> BTreeSet<(String, String)> {
    of_type(t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter_map(|(_, a)| {
            let p = &a["Properties"];
            let metric = p["MetricName"].as_str()?.to_owned();
            let dimension = p["Dimensions"].as_sequence()?.first()?;
            Some((metric, target(&dimension["Value"])?))
        })
        .collect()
}

#[test]
fn every_dead_letter_queue_has_a_depth_alarm() {
    let t = template();
    let alarms = alarms(&t);
    let dead_letter: Vec<String> = of_type(&t, "AWS::SQS::Queue")
        .into_iter()
        .filter_map(|(_, q)| target(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        .collect();
    assert!(
        dead_letter.len() >= 2,
        "the redrive policies were not found"
    );
    for queue in dead_letter {
        assert!(
            alarms.contains(&(
                "ApproximateNumberOfMessagesVisible".to_owned(),
                queue.clone()
            )),
            "no depth alarm on {queue}"
        );
    }
}

#[test]
fn every_function_has_an_error_and_a_throttle_alarm() {
    let t = template();
    let alarms = alarms(&t);
    let functions = of_type(&t, FUNCTION);
    assert!(functions.len() >= 4, "the functions were not found");
    for (name, _) in functions {
        for metric in ["Errors", "Throttles"] {
            assert!(
                alarms.contains(&(metric.to_owned(), name.clone())),
                "no {metric} alarm on {name}"
            );
        }
    }
}

#[test]
fn the_sync_workers_timeout_is_the_one_its_local_poller_gives_a_batch() {
    let t = template();
    let function = &t["Resources"]["SyncWorkerFunction"];
    assert_eq!(
        function_timeout(&t, function),
        exsync_fn_sync_worker::FUNCTION_TIMEOUT.as_secs(),
        "template.yaml and exsync_fn_sync_worker::FUNCTION_TIMEOUT disagree"
    );
}
