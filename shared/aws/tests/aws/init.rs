//! `init::ensure_resources`: the template's table, queues and key, created from the one
//! definition, idempotently, and matching both the template and docs/data-model.md.

use crate::common::{data_model_path, sdk, template_path, unique_stack};
use aws_sdk_sqs::types::QueueAttributeName;
use exsync_aws::init::{InitOptions, ensure_resources, logical_ids};
use exsync_aws::template::{GlobalSecondaryIndex, KeyElement, Projection, Template};
use std::collections::BTreeMap;

#[tokio::test]
async fn init_creates_every_table_queue_and_key_of_the_template() {
    let sdk = sdk().await;
    let stack = unique_stack();
    let p = ensure_resources(&sdk, &template_path(), &InitOptions::new(&stack))
        .await
        .unwrap();
    let mut created = p.created.clone();
    created.sort();
    assert_eq!(
        created,
        [
            "AdminJobsDeadLetterQueue",
            "AdminJobsQueue",
            "CredentialsKey",
            "PollJobsDeadLetterQueue",
            "PollJobsQueue",
            "Table"
        ]
    );
    let names = p.names().unwrap();
    assert_eq!(names.table, stack);
    assert!(
        names
            .poll_queue_url
            .ends_with(&format!("{stack}-poll-jobs.fifo"))
    );
    assert!(
        names
            .jobs_queue_url
            .ends_with(&format!("{stack}-admin-jobs"))
    );
    assert_eq!(
        p.keys.get(logical_ids::KEY_ALIAS).unwrap().alias,
        format!("alias/{stack}-credentials")
    );
}

#[tokio::test]
async fn init_run_twice_creates_nothing_the_second_time() {
    let sdk = sdk().await;
    let opts = InitOptions::new(unique_stack());
    let first = ensure_resources(&sdk, &template_path(), &opts)
        .await
        .unwrap();
    let second = ensure_resources(&sdk, &template_path(), &opts)
        .await
        .unwrap();
    assert!(
        second.created.is_empty(),
        "created again: {:?}",
        second.created
    );
    assert_eq!(second.tables, first.tables);
    assert_eq!(second.queues, first.queues);
    assert_eq!(second.keys, first.keys);
}

#[tokio::test]
async fn the_table_name_can_be_given() {
    let sdk = sdk().await;
    let mut opts = InitOptions::new(unique_stack());
    let table = format!("{}-custom", opts.stack_name);
    opts.table_name = Some(table.clone());
    let p = ensure_resources(&sdk, &template_path(), &opts)
        .await
        .unwrap();
    assert_eq!(p.names().unwrap().table, table);
}

fn sorted_indexes(mut v: Vec<GlobalSecondaryIndex>) -> Vec<GlobalSecondaryIndex> {
    v.sort_by(|a, b| a.index_name.cmp(&b.index_name));
    for g in &mut v {
        g.projection.non_key_attributes.sort();
    }
    v
}

#[tokio::test]
async fn the_created_table_has_the_templates_keys_indexes_and_ttl() {
    let sdk = sdk().await;
    let p = ensure_resources(&sdk, &template_path(), &InitOptions::new(unique_stack()))
        .await
        .unwrap();
    let spec = Template::from_path(&template_path())
        .unwrap()
        .table(logical_ids::TABLE)
        .unwrap();
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let name = p.names().unwrap().table;
    let table = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();

    let key_schema = |ks: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<KeyElement> {
        ks.iter()
            .map(|k| KeyElement {
                attribute_name: k.attribute_name().to_owned(),
                key_type: k.key_type().as_str().to_owned(),
            })
            .collect()
    };
    assert_eq!(key_schema(table.key_schema()), spec.key_schema);

    let created: Vec<GlobalSecondaryIndex> = table
        .global_secondary_indexes()
        .iter()
        .map(|g| GlobalSecondaryIndex {
            index_name: g.index_name().unwrap().to_owned(),
            key_schema: key_schema(g.key_schema()),
            projection: {
                let p = g.projection().unwrap();
                Projection {
                    projection_type: p.projection_type().unwrap().as_str().to_owned(),
                    non_key_attributes: p.non_key_attributes().to_vec(),
                }
            },
        })
        .collect();
    assert_eq!(
        sorted_indexes(created),
        sorted_indexes(spec.global_secondary_indexes.clone())
    );

    let mut attrs: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    attrs.sort();
    let mut expected: Vec<(String, String)> = spec
        .attribute_definitions
        .iter()
        .map(|a| (a.attribute_name.clone(), a.attribute_type.clone()))
        .collect();
    expected.sort();
    assert_eq!(attrs, expected);

    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name(), spec.ttl_attribute.as_deref());
    assert_eq!(
        ttl.time_to_live_status(),
        Some(&aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
    );
}

#[tokio::test]
async fn every_queue_with_a_redrive_policy_points_at_its_dead_letter_queue() {
    let sdk = sdk().await;
    let p = ensure_resources(&sdk, &template_path(), &InitOptions::new(unique_stack()))
        .await
        .unwrap();
    let template = Template::from_path(&template_path()).unwrap();
    let client = aws_sdk_sqs::Client::new(&sdk);
    for (queue, dlq, fifo) in [
        (logical_ids::POLL_QUEUE, logical_ids::POLL_DLQ, true),
        (logical_ids::JOBS_QUEUE, logical_ids::JOBS_DLQ, false),
    ] {
        let spec = template.queue(queue).unwrap();
        let attrs = client
            .get_queue_attributes()
            .queue_url(&p.queues[queue].url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        let policy: serde_json::Value =
            serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
        assert_eq!(
            policy["deadLetterTargetArn"],
            p.queues[dlq].arn.as_str(),
            "{queue}"
        );
        assert_eq!(
            policy["maxReceiveCount"].to_string(),
            spec.redrive.unwrap().max_receive_count.to_string()
        );
        assert_eq!(
            attrs[&QueueAttributeName::VisibilityTimeout],
            spec.attributes["VisibilityTimeout"]
        );
        assert_eq!(
            attrs
                .get(&QueueAttributeName::FifoQueue)
                .map(String::as_str),
            fifo.then_some("true"),
            "{queue}"
        );
    }
    let poll_attrs = client
        .get_queue_attributes()
        .queue_url(&p.queues[logical_ids::POLL_QUEUE].url)
        .attribute_names(QueueAttributeName::ContentBasedDeduplication)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        poll_attrs[&QueueAttributeName::ContentBasedDeduplication],
        "false"
    );
}

/// The rows of the "Keys and indexes" table of docs/data-model.md: name → (pk, sk,
/// projection).
fn documented_indexes() -> BTreeMap<String, (String, String, Projection)> {
    let doc = std::fs::read_to_string(data_model_path()).unwrap();
    let section = doc
        .split("## Keys and indexes")
        .nth(1)
        .expect("a 'Keys and indexes' section")
        .split("\n## ")
        .next()
        .unwrap();
    let strip = |s: &str| s.trim().trim_matches('`').to_owned();
    let key_attr = |s: &str| strip(s.trim().trim_end_matches("(S)"));
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').collect();
        let name = strip(cells[1]);
        let projection_cell = cells[4].trim();
        let projection = if projection_cell.eq_ignore_ascii_case("all") {
            Projection {
                projection_type: "ALL".into(),
                non_key_attributes: vec![],
            }
        } else {
            let attrs = projection_cell
                .strip_prefix("INCLUDE")
                .expect("ALL or INCLUDE")
                .trim()
                .trim_matches('`');
            let mut v: Vec<String> = attrs.split(',').map(|a| a.trim().to_owned()).collect();
            v.sort();
            Projection {
                projection_type: "INCLUDE".into(),
                non_key_attributes: v,
            }
        };
        rows.insert(name, (key_attr(cells[2]), key_attr(cells[3]), projection));
    }
    rows
}

#[test]
fn the_data_model_document_describes_the_templates_indexes() {
    let spec = Template::from_path(&template_path())
        .unwrap()
        .table(logical_ids::TABLE)
        .unwrap();
    let from_template: BTreeMap<String, (String, String, Projection)> =
        sorted_indexes(spec.global_secondary_indexes)
            .into_iter()
            .map(|g| {
                let key = |t: &str| {
                    g.key_schema
                        .iter()
                        .find(|k| k.key_type == t)
                        .map(|k| k.attribute_name.clone())
                        .unwrap_or_default()
                };
                (
                    g.index_name.clone(),
                    (key("HASH"), key("RANGE"), g.projection.clone()),
                )
            })
            .collect();
    let documented = documented_indexes();
    assert!(
        documented.contains_key("gsi1"),
        "the document's index table was not found: {documented:?}"
    );
    assert_eq!(documented, from_template);
}

#[test]
fn the_template_holds_every_resource_exsync_relies_on() {
    let t = Template::from_path(&template_path()).unwrap();
    t.table(logical_ids::TABLE).unwrap();
    for q in [
        logical_ids::POLL_QUEUE,
        logical_ids::POLL_DLQ,
        logical_ids::JOBS_QUEUE,
        logical_ids::JOBS_DLQ,
    ] {
        t.queue(q).unwrap();
    }
    let poll = t.queue(logical_ids::POLL_QUEUE).unwrap();
    assert!(poll.fifo);
    assert_eq!(poll.attributes["ContentBasedDeduplication"], "false");
    assert!(t.queue(logical_ids::POLL_DLQ).unwrap().fifo);
    assert!(!t.queue(logical_ids::JOBS_QUEUE).unwrap().fifo);
    let key = t.key(logical_ids::KEY_ALIAS).unwrap();
    assert!(key.enable_key_rotation);
}

#[tokio::test]
async fn the_embedded_template_is_the_repositorys_and_creates_the_same_resources() {
    assert_eq!(
        exsync_aws::init::EMBEDDED_TEMPLATE,
        std::fs::read_to_string(template_path()).unwrap()
    );
    let sdk = sdk().await;
    let opts = InitOptions::new(unique_stack());
    let from_file = ensure_resources(&sdk, &template_path(), &opts)
        .await
        .unwrap();
    let embedded = exsync_aws::init::ensure_embedded_resources(&sdk, &opts)
        .await
        .unwrap();
    assert!(embedded.created.is_empty());
    assert_eq!(embedded.names().unwrap(), from_file.names().unwrap());
}
