//! Lenient readers for optional values in `t:` elements.
//!
//! An optional value a server sends in a form we cannot read (an empty `<t:Size/>`, a
//! boolean spelled oddly) is dropped rather than failing the document: one odd field must
//! not stop a mailbox from syncing. The drop is logged with the field name only, never the
//! value (it may be mail content).

use super::DateTime;
use crate::xml::{Element, NS_TYPES};
use std::str::FromStr;

/// The text of child `t:<name>`, untrimmed (subjects and bodies keep their whitespace).
pub(crate) fn string(el: &Element, name: &str) -> Option<String> {
    el.child(NS_TYPES, name).map(|c| c.text.clone())
}

/// The trimmed text of child `t:<name>`, if non-empty.
pub(crate) fn token<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.child_text(NS_TYPES, name).filter(|t| !t.is_empty())
}

/// Reads an `xs:boolean` (`true`, `false`, `1`, `0`).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Child `t:<name>` as an `xs:boolean`.
pub(crate) fn boolean(el: &Element, name: &str) -> Option<bool> {
    let text = el.child_text(NS_TYPES, name)?;
    let value = parse_bool(text);
    if value.is_none() {
        dropped(name);
    }
    value
}

/// Child `t:<name>` as a number.
pub(crate) fn number<N: FromStr>(el: &Element, name: &str) -> Option<N> {
    let text = el.child_text(NS_TYPES, name)?;
    let value = text.parse().ok();
    if value.is_none() {
        dropped(name);
    }
    value
}

/// Child `t:<name>` as an `xs:dateTime`.
pub(crate) fn datetime(el: &Element, name: &str) -> Option<DateTime> {
    let text = el.child_text(NS_TYPES, name)?;
    let value = DateTime::parse(text);
    if value.is_none() {
        dropped(name);
    }
    value
}

/// An attribute as a number.
pub(crate) fn attr_number<N: FromStr>(el: &Element, name: &str) -> Option<N> {
    let text = el.attr(name)?;
    let value = text.trim().parse().ok();
    if value.is_none() {
        dropped(name);
    }
    value
}

/// An attribute as an `xs:boolean`.
pub(crate) fn attr_bool(el: &Element, name: &str) -> Option<bool> {
    let text = el.attr(name)?;
    let value = parse_bool(text);
    if value.is_none() {
        dropped(name);
    }
    value
}

/// Notes that a value was ignored, by field name only.
pub(crate) fn dropped(field: &str) {
    tracing::debug!(field, "ignoring an EWS value that could not be read");
}
