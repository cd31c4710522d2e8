//! `Page.next` tokens: base64 (URL-safe, unpadded) of the query's LastEvaluatedKey as a JSON
//! object of strings. Opaque to callers; checked on the way back in, so a token that was
//! tampered with, or belongs to another list, is a 400 naming `next` rather than a storage
//! error.

use crate::error::{AwsError, invalid};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use exsync_domain::DomainError;
use std::collections::{BTreeMap, HashMap};

/// A DynamoDB key as the SDK holds it.
pub(crate) type KeyMap = HashMap<String, AttributeValue>;

/// Encodes a LastEvaluatedKey (every key attribute of the table is a string).
pub(crate) fn encode(lek: &KeyMap) -> Result<String, DomainError> {
    let mut plain = BTreeMap::new();
    for (k, v) in lek {
        let s = v.as_s().map_err(|_| AwsError::NonStringKey(k.clone()))?;
        plain.insert(k.as_str(), s.as_str());
    }
    // Serialising a map of strings cannot fail.
    let json = serde_json::to_vec(&plain).unwrap_or_default();
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a token into an ExclusiveStartKey. It must hold exactly `attrs`, and the
/// `partition` attribute must have the value the query is for.
pub(crate) fn decode(
    token: &str,
    attrs: &[&str],
    partition: (&str, &str),
) -> Result<KeyMap, DomainError> {
    let plain = decode_plain(token)?;
    let same_attrs = plain.len() == attrs.len() && attrs.iter().all(|a| plain.contains_key(*a));
    if !same_attrs {
        return Err(bad_token());
    }
    let (attr, value) = partition;
    if plain.get(attr).map(String::as_str) != Some(value) {
        return Err(invalid("next", "the token belongs to another list"));
    }
    Ok(plain
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

/// Encodes a position that is one sort key value (lists merged from several partitions).
pub(crate) fn encode_after(attr: &str, value: &str) -> String {
    let plain = BTreeMap::from([(attr, value)]);
    let json = serde_json::to_vec(&plain).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a position written by [`encode_after`].
pub(crate) fn decode_after(token: &str, attr: &str) -> Result<String, DomainError> {
    let mut plain = decode_plain(token)?;
    match (plain.len(), plain.remove(attr)) {
        (1, Some(v)) => Ok(v),
        _ => Err(bad_token()),
    }
}

fn decode_plain(token: &str) -> Result<BTreeMap<String, String>, DomainError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| bad_token())?;
    serde_json::from_slice(&bytes).map_err(|_| bad_token())
}

fn bad_token() -> DomainError {
    invalid(
        "next",
        "not a token this list returned; pass back the `next` of the previous page",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> KeyMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Validation(v) => v.0[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_token_round_trips_to_the_same_key() {
        let lek = key(&[
            ("pk", "PROFILE#1"),
            ("sk", "PROFILE"),
            ("gsi1pk", "PROFILES"),
            ("gsi1sk", "a#1"),
        ]);
        let t = encode(&lek).unwrap();
        let back = decode(
            &t,
            &["pk", "sk", "gsi1pk", "gsi1sk"],
            ("gsi1pk", "PROFILES"),
        )
        .unwrap();
        assert_eq!(back, lek);
    }

    #[test]
    fn garbage_is_a_validation_error_naming_next() {
        let e = decode("%%%not base64", &["pk", "sk"], ("pk", "x")).unwrap_err();
        assert_eq!(field_of(e), "next");
        let e = decode(&URL_SAFE_NO_PAD.encode("[1,2]"), &["pk", "sk"], ("pk", "x")).unwrap_err();
        assert_eq!(field_of(e), "next");
    }

    #[test]
    fn a_token_of_another_list_is_refused() {
        let lek = key(&[
            ("pk", "MAILBOX#1"),
            ("sk", "MAILBOX"),
            ("gsi1pk", "PROFILE#a#MAILBOXES"),
            ("gsi1sk", "x#1"),
        ]);
        let t = encode(&lek).unwrap();
        let attrs = ["pk", "sk", "gsi1pk", "gsi1sk"];
        let e = decode(&t, &attrs, ("gsi1pk", "PROFILE#b#MAILBOXES")).unwrap_err();
        assert_eq!(field_of(e), "next");
        let e = decode(&t, &["pk", "sk", "gsi2pk", "gsi2sk"], ("gsi2pk", "x")).unwrap_err();
        assert_eq!(field_of(e), "next");
    }

    #[test]
    fn a_position_round_trips() {
        let t = encode_after("gsi2sk", "bob#2");
        assert_eq!(decode_after(&t, "gsi2sk").unwrap(), "bob#2");
        assert_eq!(field_of(decode_after(&t, "gsi1sk").unwrap_err()), "next");
    }
}
