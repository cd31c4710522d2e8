//! `template.yaml` read as data: the table, queue and key resources `init` creates, with
//! the few CloudFormation intrinsics their properties use (`!Ref`, `!Sub`, `!GetAtt`, in
//! short or long form) resolved against what was created.
//!
//! Parsed with `serde_norway`, the maintained continuation of `serde_yaml`: it keeps YAML
//! tags as data (`Value::Tagged`), which is exactly what CloudFormation's short forms are,
//! and gives serde-typed access to the properties. (`saphyr` and `yaml-rust2` are
//! maintained too, but without serde every property would be walked by hand.)

use serde::Deserialize;
use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// What is wrong with the template (or with what this crate can make of it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not YAML, or not a template.
    #[error("template is not valid YAML of the expected shape")]
    Yaml(#[source] serde_norway::Error),
    /// A resource's properties do not have the shape of their type.
    #[error("resource {logical_id} ({kind}) has unexpected properties")]
    Properties {
        /// The resource.
        logical_id: String,
        /// Its type.
        kind: String,
        /// Why.
        #[source]
        source: serde_norway::Error,
    },
    /// A resource the code relies on is not in the template.
    #[error("template has no {kind} resource {logical_id}")]
    Missing {
        /// The logical id looked for.
        logical_id: String,
        /// Its expected type.
        kind: &'static str,
    },
    /// A value uses something this resolver does not support.
    #[error("{context}: cannot resolve {what}")]
    Unresolved {
        /// Where (resource and property).
        context: String,
        /// What.
        what: String,
    },
}

/// The DynamoDB table resource type.
pub const TABLE_TYPE: &str = "AWS::DynamoDB::Table";
/// The SQS queue resource type.
pub const QUEUE_TYPE: &str = "AWS::SQS::Queue";
/// The KMS key resource type.
pub const KEY_TYPE: &str = "AWS::KMS::Key";
/// The KMS alias resource type.
pub const ALIAS_TYPE: &str = "AWS::KMS::Alias";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawTemplate {
    #[serde(default)]
    resources: BTreeMap<String, RawResource>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawResource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    properties: Value,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    resources: BTreeMap<String, RawResource>,
}

/// An attribute of the table's key schema or attribute definitions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    /// The attribute.
    pub attribute_name: String,
    /// `S`, `N` or `B`.
    pub attribute_type: String,
}

/// One element of a key schema.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElement {
    /// The attribute.
    pub attribute_name: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

/// An index projection.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    /// The attributes an `INCLUDE` projection carries.
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

/// A global secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndex {
    /// Its name.
    pub index_name: String,
    /// Its key.
    pub key_schema: Vec<KeyElement>,
    /// What it carries.
    pub projection: Projection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ttl {
    attribute_name: String,
    #[serde(default)]
    enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Pitr {
    #[serde(default)]
    point_in_time_recovery_enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Sse {
    #[serde(rename = "SSEEnabled", default)]
    sse_enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableProps {
    #[serde(default)]
    table_name: Option<Value>,
    #[serde(default)]
    billing_mode: Option<String>,
    attribute_definitions: Vec<AttributeDefinition>,
    key_schema: Vec<KeyElement>,
    #[serde(default)]
    global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    #[serde(default)]
    time_to_live_specification: Option<Ttl>,
    #[serde(default)]
    point_in_time_recovery_specification: Option<Pitr>,
    #[serde(rename = "SSESpecification", default)]
    sse_specification: Option<Sse>,
}

/// A DynamoDB table as the template defines it.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Its logical id.
    pub logical_id: String,
    /// Its `TableName` (an expression), when given.
    pub name: Option<Value>,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing_mode: Option<String>,
    /// The key and index attributes.
    pub attribute_definitions: Vec<AttributeDefinition>,
    /// The table's key.
    pub key_schema: Vec<KeyElement>,
    /// Its global secondary indexes.
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    /// The TTL attribute, when TTL is enabled.
    pub ttl_attribute: Option<String>,
    /// Point-in-time recovery.
    pub point_in_time_recovery: bool,
    /// Server-side encryption with a KMS key (rather than an AWS-owned one).
    pub sse: bool,
}

/// A queue's redrive policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    /// The dead-letter queue's logical id.
    pub dead_letter_queue: String,
    /// Receives before a message moves there.
    pub max_receive_count: u64,
}

/// An SQS queue as the template defines it.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    /// Its logical id.
    pub logical_id: String,
    /// Its `QueueName` (an expression), when given.
    pub name: Option<Value>,
    /// FIFO queue.
    pub fifo: bool,
    /// Queue attributes other than the name and the redrive policy, as SQS names them.
    pub attributes: BTreeMap<String, String>,
    /// Where failed messages go.
    pub redrive: Option<Redrive>,
}

/// A KMS key and its alias, as the template defines them.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// The key's logical id.
    pub logical_id: String,
    /// The alias resource's logical id.
    pub alias_logical_id: String,
    /// The alias name (an expression).
    pub alias_name: Value,
    /// Description.
    pub description: Option<String>,
    /// `ENCRYPT_DECRYPT`.
    pub key_usage: Option<String>,
    /// `SYMMETRIC_DEFAULT`.
    pub key_spec: Option<String>,
    /// Automatic rotation.
    pub enable_key_rotation: bool,
}

impl Template {
    /// Reads and parses a template file.
    pub fn from_path(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses template text.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let raw: RawTemplate = serde_norway::from_str(text).map_err(TemplateError::Yaml)?;
        Ok(Self {
            resources: raw.resources,
        })
    }

    /// The logical ids of every resource of a type, in name order.
    pub fn logical_ids(&self, kind: &str) -> Vec<String> {
        self.resources
            .iter()
            .filter(|(_, r)| r.kind == kind)
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn resource(
        &self,
        logical_id: &str,
        kind: &'static str,
    ) -> Result<&RawResource, TemplateError> {
        self.resources
            .get(logical_id)
            .filter(|r| r.kind == kind)
            .ok_or_else(|| TemplateError::Missing {
                logical_id: logical_id.to_owned(),
                kind,
            })
    }

    fn props<T: for<'de> Deserialize<'de>>(
        &self,
        logical_id: &str,
        kind: &'static str,
    ) -> Result<T, TemplateError> {
        let r = self.resource(logical_id, kind)?;
        serde_norway::from_value(r.properties.clone()).map_err(|source| TemplateError::Properties {
            logical_id: logical_id.to_owned(),
            kind: kind.to_owned(),
            source,
        })
    }

    /// A table resource.
    pub fn table(&self, logical_id: &str) -> Result<TableSpec, TemplateError> {
        let p: TableProps = self.props(logical_id, TABLE_TYPE)?;
        Ok(TableSpec {
            logical_id: logical_id.to_owned(),
            name: p.table_name,
            billing_mode: p.billing_mode,
            attribute_definitions: p.attribute_definitions,
            key_schema: p.key_schema,
            global_secondary_indexes: p.global_secondary_indexes,
            ttl_attribute: p
                .time_to_live_specification
                .filter(|t| t.enabled)
                .map(|t| t.attribute_name),
            point_in_time_recovery: p
                .point_in_time_recovery_specification
                .is_some_and(|p| p.point_in_time_recovery_enabled),
            sse: p.sse_specification.is_some_and(|s| s.sse_enabled),
        })
    }

    /// A queue resource.
    pub fn queue(&self, logical_id: &str) -> Result<QueueSpec, TemplateError> {
        let r = self.resource(logical_id, QUEUE_TYPE)?;
        let context = |prop: &str| format!("{logical_id}.{prop}");
        let Value::Mapping(props) = &r.properties else {
            return Err(TemplateError::Unresolved {
                context: logical_id.to_owned(),
                what: "Properties (not a mapping)".to_owned(),
            });
        };
        let mut spec = QueueSpec {
            logical_id: logical_id.to_owned(),
            name: None,
            fifo: false,
            attributes: BTreeMap::new(),
            redrive: None,
        };
        for (k, v) in props {
            let Some(k) = k.as_str() else { continue };
            match k {
                "QueueName" => spec.name = Some(v.clone()),
                // Tags are a deployment concern; nothing locally reads them.
                "Tags" => {}
                "RedrivePolicy" => spec.redrive = Some(redrive(v, &context(k))?),
                _ => {
                    let value = scalar(v).ok_or_else(|| TemplateError::Unresolved {
                        context: context(k),
                        what: "a non-scalar queue attribute".to_owned(),
                    })?;
                    if k == "FifoQueue" {
                        spec.fifo = value == "true";
                    }
                    spec.attributes.insert(k.to_owned(), value);
                }
            }
        }
        Ok(spec)
    }

    /// The key behind an alias resource (the alias is what makes creating the key
    /// idempotent: a key has no name of its own).
    pub fn key(&self, alias_logical_id: &str) -> Result<KeySpec, TemplateError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct AliasProps {
            alias_name: Value,
            target_key_id: Value,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct KeyProps {
            #[serde(default)]
            description: Option<String>,
            #[serde(default)]
            key_usage: Option<String>,
            #[serde(default)]
            key_spec: Option<String>,
            #[serde(default)]
            enable_key_rotation: bool,
        }
        let alias: AliasProps = self.props(alias_logical_id, ALIAS_TYPE)?;
        let target = reference(&alias.target_key_id).ok_or_else(|| TemplateError::Unresolved {
            context: format!("{alias_logical_id}.TargetKeyId"),
            what: "a target that is not !Ref of a key in this template".to_owned(),
        })?;
        let key: KeyProps = self.props(&target, KEY_TYPE)?;
        Ok(KeySpec {
            logical_id: target,
            alias_logical_id: alias_logical_id.to_owned(),
            alias_name: alias.alias_name,
            description: key.description,
            key_usage: key.key_usage,
            key_spec: key.key_spec,
            enable_key_rotation: key.enable_key_rotation,
        })
    }
}

/// A plain scalar as SQS wants attribute values (`true`, `720`).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `!Ref X` / `{Ref: X}`: the logical id.
fn reference(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
        Value::Mapping(m) if m.len() == 1 => {
            m.get("Ref").and_then(Value::as_str).map(str::to_owned)
        }
        _ => None,
    }
}

/// `!GetAtt X.Arn` / `!GetAtt [X, Arn]` / `{Fn::GetAtt: …}`: the logical id and attribute.
fn get_att(v: &Value) -> Option<(String, String)> {
    let inner = match v {
        Value::Tagged(t) if t.tag == "GetAtt" => &t.value,
        Value::Mapping(m) if m.len() == 1 => m.get("Fn::GetAtt")?,
        _ => return None,
    };
    match inner {
        Value::String(s) => s.split_once('.').map(|(a, b)| (a.to_owned(), b.to_owned())),
        Value::Sequence(seq) => match seq.as_slice() {
            [Value::String(a), Value::String(b)] => Some((a.clone(), b.clone())),
            _ => None,
        },
        _ => None,
    }
}

fn redrive(v: &Value, context: &str) -> Result<Redrive, TemplateError> {
    let unresolved = |what: &str| TemplateError::Unresolved {
        context: context.to_owned(),
        what: what.to_owned(),
    };
    let target = v
        .get("deadLetterTargetArn")
        .and_then(get_att)
        .filter(|(_, attr)| attr == "Arn")
        .ok_or_else(|| unresolved("deadLetterTargetArn (expected !GetAtt <queue>.Arn)"))?;
    let max = v
        .get("maxReceiveCount")
        .and_then(|m| {
            m.as_u64()
                .or_else(|| m.as_str().and_then(|s| s.parse().ok()))
        })
        .ok_or_else(|| unresolved("maxReceiveCount"))?;
    Ok(Redrive {
        dead_letter_queue: target.0,
        max_receive_count: max,
    })
}

/// What intrinsics resolve to: the pseudo parameters and what was created so far.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    /// `AWS::StackName`, `AWS::Region`, … and logical ids (`Ref` values).
    pub refs: BTreeMap<String, String>,
    /// `GetAtt` values, by `Logical.Attribute`.
    pub attributes: BTreeMap<String, String>,
}

impl Resolver {
    /// Resolves a value that must end up a string: a plain scalar, `!Ref`, `!Sub` (string
    /// form) or `!GetAtt`.
    pub fn string(&self, v: &Value, context: &str) -> Result<String, TemplateError> {
        let unresolved = |what: String| TemplateError::Unresolved {
            context: context.to_owned(),
            what,
        };
        if let Some(s) = scalar(v) {
            return Ok(s);
        }
        if let Some(name) = reference(v) {
            return self
                .refs
                .get(&name)
                .cloned()
                .ok_or_else(|| unresolved(format!("Ref {name}")));
        }
        if let Some((id, attr)) = get_att(v) {
            let k = format!("{id}.{attr}");
            return self
                .attributes
                .get(&k)
                .cloned()
                .ok_or_else(|| unresolved(format!("GetAtt {k}")));
        }
        let sub = match v {
            Value::Tagged(t) if t.tag == "Sub" => t.value.as_str(),
            Value::Mapping(m) if m.len() == 1 => m.get("Fn::Sub").and_then(Value::as_str),
            _ => None,
        };
        match sub {
            Some(s) => self.substitute(s).map_err(unresolved),
            None => Err(unresolved(format!("{v:?}"))),
        }
    }

    /// `${Name}` and `${Logical.Attr}` replaced; `${!Literal}` kept as `${Literal}`.
    fn substitute(&self, s: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {s:?}"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = self.refs.get(name).or_else(|| self.attributes.get(name)) {
                out.push_str(v);
            } else {
                return Err(format!("${{{name}}}"));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-q.fifo"
      FifoQueue: true
      VisibilityTimeout: 30
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dlq.Arn
        maxReceiveCount: 4
  Dlq:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: { "Fn::Sub": "${AWS::StackName}-dlq.fifo" }
      FifoQueue: true
  K:
    Type: AWS::KMS::Key
    Properties:
      Description: k
      EnableKeyRotation: true
  A:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: !Sub alias/${AWS::StackName}-k
      TargetKeyId: !Ref K
"#;

    fn resolver() -> Resolver {
        Resolver {
            refs: BTreeMap::from([("AWS::StackName".to_owned(), "st".to_owned())]),
            attributes: BTreeMap::from([("Dlq.Arn".to_owned(), "arn:dlq".to_owned())]),
        }
    }

    #[test]
    fn short_and_long_sub_resolve_alike() {
        let t = Template::parse(SMALL).unwrap();
        let r = resolver();
        let q = t.queue("Q").unwrap();
        let d = t.queue("Dlq").unwrap();
        assert_eq!(
            r.string(q.name.as_ref().unwrap(), "Q").unwrap(),
            "st-q.fifo"
        );
        assert_eq!(
            r.string(d.name.as_ref().unwrap(), "Dlq").unwrap(),
            "st-dlq.fifo"
        );
    }

    #[test]
    fn a_queue_keeps_its_attributes_and_redrive_target() {
        let q = Template::parse(SMALL).unwrap().queue("Q").unwrap();
        assert!(q.fifo);
        assert_eq!(q.attributes.get("VisibilityTimeout").unwrap(), "30");
        assert!(!q.attributes.contains_key("QueueName"));
        assert_eq!(
            q.redrive,
            Some(Redrive {
                dead_letter_queue: "Dlq".into(),
                max_receive_count: 4
            })
        );
    }

    #[test]
    fn a_key_is_found_through_its_alias() {
        let k = Template::parse(SMALL).unwrap().key("A").unwrap();
        assert_eq!(k.logical_id, "K");
        assert!(k.enable_key_rotation);
        assert_eq!(resolver().string(&k.alias_name, "A").unwrap(), "alias/st-k");
    }

    #[test]
    fn an_unknown_reference_is_an_error_naming_it() {
        let v: Value = serde_norway::from_str("!Sub ${Nope}-x").unwrap();
        let e = resolver().string(&v, "X.Name").unwrap_err();
        assert!(e.to_string().contains("Nope"), "{e}");
    }

    #[test]
    fn escaped_sub_variables_stay_literal() {
        let v: Value = serde_norway::from_str("!Sub a-${!Literal}-${AWS::StackName}").unwrap();
        assert_eq!(resolver().string(&v, "X").unwrap(), "a-${Literal}-st");
    }

    #[test]
    fn a_missing_resource_is_named() {
        let e = Template::parse(SMALL).unwrap().table("Table").unwrap_err();
        assert!(e.to_string().contains("Table"), "{e}");
    }

    #[test]
    fn not_yaml_is_an_error_not_a_panic() {
        assert!(Template::parse("Resources: [unclosed").is_err());
    }
}
