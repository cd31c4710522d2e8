//! The OpenAPI 3 document of the admin API, served at `/openapi.json`.
//!
//! Written by hand (`openapi.json` beside this file) rather than generated, so the domain
//! crate carries no OpenAPI annotations. Tests keep it true: every route the router serves
//! is in it with its method and every documented operation is served
//! (`tests/integration/tests/api_openapi.rs` probes the live router), and every documented
//! input schema names exactly the fields the domain's input type accepts (below).

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// The document's text.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /openapi.json` (no identity needed: it describes, it does not reveal).
pub(crate) async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exsync_domain::mailbox::MailboxInput;
    use exsync_domain::org::OrgSettingsInput;
    use exsync_domain::profile::ProfileInput;
    use exsync_domain::service::{
        AppointmentInput, BulkEdit, ContactInput, EmailInput, RecordInput, TaskInput,
    };
    use exsync_domain::test_connection::TestConnectionInput;
    use serde::Serialize;
    use std::collections::BTreeSet;

    fn doc() -> serde_json::Value {
        serde_json::from_str(DOCUMENT).unwrap()
    }

    /// The property names of a component schema.
    fn documented(schema: &str) -> BTreeSet<String> {
        doc()["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("schema {schema} has no properties"))
            .keys()
            .cloned()
            .collect()
    }

    /// The fields an input type accepts: every field of its default value (inputs skip
    /// nothing when serialized, so absent options show as null).
    fn accepted<T: Default + Serialize>() -> BTreeSet<String> {
        serde_json::to_value(T::default())
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn the_document_is_openapi_3() {
        let d = doc();
        assert!(d["openapi"].as_str().unwrap().starts_with("3."));
        assert!(d["paths"].as_object().is_some_and(|p| !p.is_empty()));
    }

    #[test]
    fn every_input_schema_names_exactly_the_fields_the_domain_accepts() {
        let cases = [
            ("ProfileInput", accepted::<ProfileInput>()),
            ("MailboxInput", accepted::<MailboxInput>()),
            ("OrgSettingsInput", accepted::<OrgSettingsInput>()),
            ("TestConnectionInput", accepted::<TestConnectionInput>()),
            ("BulkEdit", accepted::<BulkEdit>()),
            ("EmailInput", accepted::<EmailInput>()),
            ("AppointmentInput", accepted::<AppointmentInput>()),
            ("ContactInput", accepted::<ContactInput>()),
            ("TaskInput", accepted::<TaskInput>()),
            ("RecordInput", accepted::<RecordInput>()),
        ];
        for (schema, fields) in cases {
            assert_eq!(documented(schema), fields, "schema {schema}");
        }
    }

    #[test]
    fn every_reference_points_at_a_defined_schema() {
        let d = doc();
        let defined: BTreeSet<String> = d["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let text = DOCUMENT;
        for piece in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(defined.contains(name), "undefined schema {name}");
        }
    }

    #[test]
    fn every_route_of_the_router_is_documented_and_nothing_else() {
        let d = doc();
        let mut documented = BTreeSet::new();
        for (path, item) in d["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        let served: BTreeSet<(String, String)> = crate::route_table()
            .into_iter()
            .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
            .collect();
        let missing: Vec<_> = served.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&served).collect();
        assert!(missing.is_empty(), "served but not documented: {missing:?}");
        assert!(extra.is_empty(), "documented but not served: {extra:?}");
    }

    #[test]
    fn every_operation_has_a_unique_id() {
        let d = doc();
        let mut ids = BTreeSet::new();
        for item in d["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(ids.insert(id.clone()), "duplicate operationId {id}");
            }
        }
    }
}
