//! Creates, on the configured endpoint, the table, queues and key of `template.yaml` that
//! are missing there: what `exsync serve --init` and the tests run against the local AWS
//! endpoint. The template is the only definition; nothing here repeats its schema.
//!
//! Idempotent: a resource that exists (by name; the key by its alias) is left as it is,
//! so a second run creates nothing. Two template settings have no local equivalent and
//! are not applied: the key policy (it names the deploying account, and the local
//! endpoint's default policy already lets the account use the key) and table deletion
//! policies (a CloudFormation concept).

use crate::config::ResourceNames;
use crate::template::{
    ALIAS_TYPE, QUEUE_TYPE, QueueSpec, Resolver, TABLE_TYPE, TableSpec, Template, TemplateError,
};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

/// The logical ids exsync's code relies on (the template may hold more).
pub mod logical_ids {
    /// The table.
    pub const TABLE: &str = "Table";
    /// The poll-jobs FIFO queue.
    pub const POLL_QUEUE: &str = "PollJobsQueue";
    /// Its dead-letter queue.
    pub const POLL_DLQ: &str = "PollJobsDeadLetterQueue";
    /// The admin-jobs queue.
    pub const JOBS_QUEUE: &str = "AdminJobsQueue";
    /// Its dead-letter queue.
    pub const JOBS_DLQ: &str = "AdminJobsDeadLetterQueue";
    /// The credentials key's alias (the key is found through it).
    pub const KEY_ALIAS: &str = "CredentialsKeyAlias";
}

/// Why the resources could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The template is unreadable or unsupported.
    #[error("template.yaml")]
    Template(#[from] TemplateError),
    /// An AWS request failed.
    #[error("{action} {resource} failed")]
    Aws {
        /// What was being done (`CreateTable`…).
        action: &'static str,
        /// On what.
        resource: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A table did not become active in time.
    #[error("table {0} did not become ACTIVE")]
    TableNotActive(String),
    /// AWS answered without a field it always sends.
    #[error("{action} {resource}: the answer has no {field}")]
    Answer {
        /// The request.
        action: &'static str,
        /// On what.
        resource: String,
        /// The missing field.
        field: &'static str,
    },
    /// A queue's redrive target is not a queue created before it.
    #[error("queue {queue}: dead-letter queue {target} is not in the template")]
    RedriveTarget {
        /// The queue.
        queue: String,
        /// Its target.
        target: String,
    },
    /// A resource exsync relies on was not created.
    #[error("resource {0} was not created")]
    NotCreated(&'static str),
}

/// Names for one deployment of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    /// Stands for `AWS::StackName` in the template (`exsync` locally).
    pub stack_name: String,
    /// Overrides the table's name (`EXSYNC_TABLE`).
    pub table_name: Option<String>,
    /// Stands for `AWS::AccountId` (local endpoints use a fixed one).
    pub account_id: String,
}

impl InitOptions {
    /// The stack name `exsync` uses locally.
    pub const LOCAL_STACK: &'static str = "exsync";

    /// Options for a stack name.
    pub fn new(stack_name: impl Into<String>) -> Self {
        Self {
            stack_name: stack_name.into(),
            table_name: None,
            account_id: "123456789012".to_owned(),
        }
    }

    /// The local defaults: stack `exsync`, the table named by `EXSYNC_TABLE` when set.
    pub fn local_from_env() -> Self {
        let mut o = Self::new(Self::LOCAL_STACK);
        o.table_name = std::env::var(crate::config::ENV_TABLE)
            .ok()
            .filter(|t| !t.trim().is_empty());
        o
    }
}

/// A queue as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Its ARN.
    pub arn: String,
}

/// A key as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// The alias (`alias/…`).
    pub alias: String,
}

/// What exists after [`ensure_resources`], by logical id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provisioned {
    /// Tables: logical id → name.
    pub tables: BTreeMap<String, String>,
    /// Queues.
    pub queues: BTreeMap<String, QueueInfo>,
    /// Keys, by their alias's logical id.
    pub keys: BTreeMap<String, KeyInfo>,
    /// What this run created (logical ids); empty when everything existed.
    pub created: Vec<String>,
}

impl Provisioned {
    /// The names exsync's functions are configured with.
    pub fn names(&self) -> Result<ResourceNames, InitError> {
        use logical_ids::*;
        Ok(ResourceNames {
            table: self
                .tables
                .get(TABLE)
                .cloned()
                .ok_or(InitError::NotCreated(TABLE))?,
            jobs_queue_url: self
                .queues
                .get(JOBS_QUEUE)
                .map(|q| q.url.clone())
                .ok_or(InitError::NotCreated(JOBS_QUEUE))?,
            poll_queue_url: self
                .queues
                .get(POLL_QUEUE)
                .map(|q| q.url.clone())
                .ok_or(InitError::NotCreated(POLL_QUEUE))?,
            kms_key_id: self
                .keys
                .get(KEY_ALIAS)
                .map(|k| k.arn.clone())
                .ok_or(InitError::NotCreated(KEY_ALIAS))?,
        })
    }
}

fn aws<E>(action: &'static str, resource: &str) -> impl FnOnce(E) -> InitError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let resource = resource.to_owned();
    move |e| InitError::Aws {
        action,
        resource,
        source: Box::new(e),
    }
}

/// The repository's `template.yaml`, compiled in, so a binary run from any directory
/// (`exsync serve --init`) creates exactly what the template it was built with defines.
pub const EMBEDDED_TEMPLATE: &str = include_str!("../../../template.yaml");

/// Creates what is missing of the template file at `template` on the endpoint `sdk` points
/// at (the SDK reads `AWS_ENDPOINT_URL`), and answers with every table, queue and key of
/// the template.
#[tracing::instrument(skip(sdk, opts), fields(template = %template.display(), stack = %opts.stack_name))]
pub async fn ensure_resources(
    sdk: &SdkConfig,
    template: &Path,
    opts: &InitOptions,
) -> Result<Provisioned, InitError> {
    ensure_template_resources(sdk, &Template::from_path(template)?, opts).await
}

/// [`ensure_resources`] with the [`EMBEDDED_TEMPLATE`].
pub async fn ensure_embedded_resources(
    sdk: &SdkConfig,
    opts: &InitOptions,
) -> Result<Provisioned, InitError> {
    ensure_template_resources(sdk, &Template::parse(EMBEDDED_TEMPLATE)?, opts).await
}

/// [`ensure_resources`] with a parsed template.
#[tracing::instrument(skip_all, fields(stack = %opts.stack_name))]
pub async fn ensure_template_resources(
    sdk: &SdkConfig,
    t: &Template,
    opts: &InitOptions,
) -> Result<Provisioned, InitError> {
    let mut resolver = Resolver::default();
    resolver
        .refs
        .insert("AWS::StackName".into(), opts.stack_name.clone());
    resolver.refs.insert(
        "AWS::Region".into(),
        sdk.region().map(|r| r.to_string()).unwrap_or_default(),
    );
    resolver
        .refs
        .insert("AWS::AccountId".into(), opts.account_id.clone());
    resolver.refs.insert("AWS::Partition".into(), "aws".into());

    let mut out = Provisioned::default();

    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    for id in t.logical_ids(TABLE_TYPE) {
        let spec = t.table(&id)?;
        let name = match (&opts.table_name, &spec.name) {
            (Some(n), _) if id == logical_ids::TABLE => n.clone(),
            (_, Some(expr)) => resolver.string(expr, &format!("{id}.TableName"))?,
            (_, None) => format!("{}-{id}", opts.stack_name),
        };
        if ensure_table(&dynamo, &spec, &name).await? {
            out.created.push(id.clone());
        }
        resolver.refs.insert(id.clone(), name.clone());
        out.tables.insert(id, name);
    }

    let sqs = aws_sdk_sqs::Client::new(sdk);
    // Dead-letter queues first: a queue's redrive policy needs its target's ARN.
    let mut specs: Vec<QueueSpec> = t
        .logical_ids(QUEUE_TYPE)
        .iter()
        .map(|id| t.queue(id))
        .collect::<Result<_, _>>()?;
    specs.sort_by_key(|q| q.redrive.is_some());
    for spec in specs {
        let name = match &spec.name {
            Some(expr) => resolver.string(expr, &format!("{}.QueueName", spec.logical_id))?,
            None if spec.fifo => format!("{}-{}.fifo", opts.stack_name, spec.logical_id),
            None => format!("{}-{}", opts.stack_name, spec.logical_id),
        };
        let (info, created) = ensure_queue(&sqs, &spec, &name, &resolver).await?;
        if created {
            out.created.push(spec.logical_id.clone());
        }
        resolver
            .refs
            .insert(spec.logical_id.clone(), info.url.clone());
        resolver
            .attributes
            .insert(format!("{}.Arn", spec.logical_id), info.arn.clone());
        out.queues.insert(spec.logical_id, info);
    }

    let kms = aws_sdk_kms::Client::new(sdk);
    for alias_id in t.logical_ids(ALIAS_TYPE) {
        let spec = t.key(&alias_id)?;
        let alias = resolver.string(&spec.alias_name, &format!("{alias_id}.AliasName"))?;
        let (info, created) = ensure_key(&kms, &spec, &alias).await?;
        if created {
            out.created.push(spec.logical_id.clone());
        }
        resolver
            .refs
            .insert(spec.logical_id.clone(), info.key_id.clone());
        resolver
            .attributes
            .insert(format!("{}.Arn", spec.logical_id), info.arn.clone());
        resolver.refs.insert(alias_id.clone(), alias);
        out.keys.insert(alias_id, info);
    }

    tracing::info!(created = ?out.created, "resources ensured");
    Ok(out)
}

/// Creates the table when missing; true when it did.
async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    spec: &TableSpec,
    name: &str,
) -> Result<bool, InitError> {
    let exists = match client.describe_table().table_name(name).send().await {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            false
        }
        Err(e) => return Err(aws("DescribeTable", name)(aws_sdk_dynamodb::Error::from(e))),
    };
    if !exists {
        create_table(client, spec, name).await?;
        wait_active(client, name).await?;
        if spec.point_in_time_recovery {
            let pitr = ddb::PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .map_err(aws("UpdateContinuousBackups", name))?;
            client
                .update_continuous_backups()
                .table_name(name)
                .point_in_time_recovery_specification(pitr)
                .send()
                .await
                .map_err(|e| {
                    aws("UpdateContinuousBackups", name)(aws_sdk_dynamodb::Error::from(e))
                })?;
        }
    }
    // TTL is a separate request after creation; checked on every run so a run that died
    // between the two still ends with TTL on.
    if let Some(attr) = &spec.ttl_attribute {
        let ttl = client
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .map_err(|e| aws("DescribeTimeToLive", name)(aws_sdk_dynamodb::Error::from(e)))?;
        let on = ttl.time_to_live_description.is_some_and(|d| {
            d.attribute_name() == Some(attr.as_str())
                && matches!(
                    d.time_to_live_status(),
                    Some(ddb::TimeToLiveStatus::Enabled | ddb::TimeToLiveStatus::Enabling)
                )
        });
        if !on {
            let spec = ddb::TimeToLiveSpecification::builder()
                .attribute_name(attr)
                .enabled(true)
                .build()
                .map_err(aws("UpdateTimeToLive", name))?;
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(spec)
                .send()
                .await
                .map_err(|e| aws("UpdateTimeToLive", name)(aws_sdk_dynamodb::Error::from(e)))?;
        }
    }
    Ok(!exists)
}

fn key_schema(
    elems: &[crate::template::KeyElement],
    name: &str,
) -> Result<Vec<ddb::KeySchemaElement>, InitError> {
    elems
        .iter()
        .map(|k| {
            ddb::KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(ddb::KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(aws("CreateTable", name))
        })
        .collect()
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    spec: &TableSpec,
    name: &str,
) -> Result<(), InitError> {
    let attrs = spec
        .attribute_definitions
        .iter()
        .map(|a| {
            ddb::AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ddb::ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(aws("CreateTable", name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let gsis = spec
        .global_secondary_indexes
        .iter()
        .map(|g| {
            let projection = ddb::Projection::builder()
                .projection_type(ddb::ProjectionType::from(
                    g.projection.projection_type.as_str(),
                ))
                .set_non_key_attributes(
                    (!g.projection.non_key_attributes.is_empty())
                        .then(|| g.projection.non_key_attributes.clone()),
                )
                .build();
            ddb::GlobalSecondaryIndex::builder()
                .index_name(&g.index_name)
                .set_key_schema(Some(key_schema(&g.key_schema, name)?))
                .projection(projection)
                .build()
                .map_err(aws("CreateTable", name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let billing = spec
        .billing_mode
        .as_deref()
        .map(ddb::BillingMode::from)
        .unwrap_or(ddb::BillingMode::PayPerRequest);
    let mut req = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attrs))
        .set_key_schema(Some(key_schema(&spec.key_schema, name)?))
        .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
        .billing_mode(billing);
    if spec.sse {
        req = req.sse_specification(ddb::SseSpecification::builder().enabled(true).build());
    }
    req.send()
        .await
        .map_err(|e| aws("CreateTable", name)(aws_sdk_dynamodb::Error::from(e)))?;
    tracing::info!(table = %name, "table created");
    Ok(())
}

async fn wait_active(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), InitError> {
    // A real table takes seconds; the local endpoint is ACTIVE at once.
    for _ in 0..120 {
        let d = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| aws("DescribeTable", name)(aws_sdk_dynamodb::Error::from(e)))?;
        let active = d
            .table
            .and_then(|t| t.table_status)
            .is_some_and(|s| s == ddb::TableStatus::Active);
        if active {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(InitError::TableNotActive(name.to_owned()))
}

/// Creates the queue when missing; answers its URL and ARN and whether it was created.
async fn ensure_queue(
    client: &aws_sdk_sqs::Client,
    spec: &QueueSpec,
    name: &str,
    resolver: &Resolver,
) -> Result<(QueueInfo, bool), InitError> {
    let existing = match client.get_queue_url().queue_name(name).send().await {
        Ok(o) => o.queue_url,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_does_not_exist()) =>
        {
            None
        }
        Err(e) => return Err(aws("GetQueueUrl", name)(aws_sdk_sqs::Error::from(e))),
    };
    let created = existing.is_none();
    let url = match existing {
        Some(url) => url,
        None => {
            let mut attrs: HashMap<QueueAttributeName, String> = spec
                .attributes
                .iter()
                .map(|(k, v)| (QueueAttributeName::from(k.as_str()), v.clone()))
                .collect();
            if let Some(r) = &spec.redrive {
                let arn = resolver
                    .attributes
                    .get(&format!("{}.Arn", r.dead_letter_queue))
                    .ok_or_else(|| InitError::RedriveTarget {
                        queue: spec.logical_id.clone(),
                        target: r.dead_letter_queue.clone(),
                    })?;
                let policy = serde_json::json!({
                    "deadLetterTargetArn": arn,
                    "maxReceiveCount": r.max_receive_count,
                });
                attrs.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
            }
            let out = client
                .create_queue()
                .queue_name(name)
                .set_attributes(Some(attrs))
                .send()
                .await
                .map_err(|e| aws("CreateQueue", name)(aws_sdk_sqs::Error::from(e)))?;
            tracing::info!(queue = %name, "queue created");
            out.queue_url.ok_or_else(|| InitError::Answer {
                action: "CreateQueue",
                resource: name.to_owned(),
                field: "QueueUrl",
            })?
        }
    };
    let attrs = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws("GetQueueAttributes", name)(aws_sdk_sqs::Error::from(e)))?;
    let arn = attrs
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| InitError::Answer {
            action: "GetQueueAttributes",
            resource: name.to_owned(),
            field: "QueueArn",
        })?;
    Ok((
        QueueInfo {
            name: name.to_owned(),
            url,
            arn,
        },
        created,
    ))
}

/// Creates the key and its alias when the alias is missing.
async fn ensure_key(
    client: &aws_sdk_kms::Client,
    spec: &crate::template::KeySpec,
    alias: &str,
) -> Result<(KeyInfo, bool), InitError> {
    let found = match client.describe_key().key_id(alias).send().await {
        Ok(o) => o.key_metadata,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            None
        }
        Err(e) => return Err(aws("DescribeKey", alias)(aws_sdk_kms::Error::from(e))),
    };
    let created = found.is_none();
    let meta = match found {
        Some(m) => m,
        None => {
            let out = client
                .create_key()
                .set_description(spec.description.clone())
                .set_key_usage(
                    spec.key_usage
                        .as_deref()
                        .map(aws_sdk_kms::types::KeyUsageType::from),
                )
                .set_key_spec(
                    spec.key_spec
                        .as_deref()
                        .map(aws_sdk_kms::types::KeySpec::from),
                )
                .send()
                .await
                .map_err(|e| aws("CreateKey", alias)(aws_sdk_kms::Error::from(e)))?;
            let meta = out.key_metadata.ok_or_else(|| InitError::Answer {
                action: "CreateKey",
                resource: alias.to_owned(),
                field: "KeyMetadata",
            })?;
            if spec.enable_key_rotation {
                client
                    .enable_key_rotation()
                    .key_id(meta.key_id())
                    .send()
                    .await
                    .map_err(|e| aws("EnableKeyRotation", alias)(aws_sdk_kms::Error::from(e)))?;
            }
            client
                .create_alias()
                .alias_name(alias)
                .target_key_id(meta.key_id())
                .send()
                .await
                .map_err(|e| aws("CreateAlias", alias)(aws_sdk_kms::Error::from(e)))?;
            tracing::info!(alias = %alias, "key created");
            meta
        }
    };
    let arn = meta
        .arn()
        .map(str::to_owned)
        .ok_or_else(|| InitError::Answer {
            action: "DescribeKey",
            resource: alias.to_owned(),
            field: "Arn",
        })?;
    Ok((
        KeyInfo {
            key_id: meta.key_id().to_owned(),
            arn,
            alias: alias.to_owned(),
        },
        created,
    ))
}
