//! FindItem / FindFolder restrictions: parsing `t:Restriction` and evaluating it against an
//! item or folder.
//!
//! <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/restriction>
//!
//! String comparisons ignore case, as Exchange's do for IsEqualTo on text properties;
//! `Contains` honours `ContainmentComparison` (`Exact` is case-sensitive, every other value
//! ignores case) and `ContainmentMode`.

use super::codes::{EwsError, ResponseCode};
use super::fields::{PropertyPath, parse_path};
use super::xml::{NS_T, child, elements, parse_bool, parse_datetime};
use crate::store::{ExtendedProperty, PropertyValue};
use roxmltree::Node;
use std::cmp::Ordering;
use time::OffsetDateTime;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Constant(String),
    Path(PropertyPath),
}

/// How `Contains` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    FullString,
    Prefixed,
    Substring,
    PrefixOnWords,
    ExactPhrase,
}

/// A parsed restriction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Restriction {
    And(Vec<Restriction>),
    Or(Vec<Restriction>),
    Not(Box<Restriction>),
    Exists(PropertyPath),
    Compare(Op, PropertyPath, Operand),
    Contains {
        path: PropertyPath,
        constant: String,
        mode: Mode,
        ignore_case: bool,
    },
    Excludes(PropertyPath, u64),
}

/// A property value, typed enough to compare.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    Date(OffsetDateTime),
    List(Vec<String>),
}

impl Value {
    /// The value of an extended property, typed by its PropertyType.
    pub(crate) fn of_extended(p: &ExtendedProperty) -> Value {
        match &p.value {
            PropertyValue::Multiple(v) => Value::List(v.clone()),
            PropertyValue::Single(s) => match p.property_type.as_str() {
                "Integer" | "Long" | "Short" => s
                    .trim()
                    .parse()
                    .map_or_else(|_| Value::Str(s.clone()), Value::Int),
                "Double" | "Float" | "Currency" => s
                    .trim()
                    .parse()
                    .map_or_else(|_| Value::Str(s.clone()), Value::Float),
                "Boolean" => parse_bool(s).map_or_else(|| Value::Str(s.clone()), Value::Bool),
                "SystemTime" => {
                    parse_datetime(s).map_or_else(|| Value::Str(s.clone()), Value::Date)
                }
                _ => Value::Str(s.clone()),
            },
        }
    }

    fn as_text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Date(d) => super::xml::format_datetime(*d),
            Value::List(l) => l.join(" "),
        }
    }
}

/// Something a restriction can be evaluated against.
pub(crate) trait Subject {
    /// The value at `path`; `Ok(None)` when the subject lacks it; `Err` when the path is one
    /// the server cannot search on (`ErrorUnsupportedPathForQuery`).
    fn value(&self, path: &PropertyPath) -> Result<Option<Value>, EwsError>;
}

fn invalid(text: &str) -> EwsError {
    EwsError::new(ResponseCode::ErrorInvalidRestriction, text)
}

/// Reads `t:Restriction` (its single search expression).
pub(crate) fn parse(n: Node<'_, '_>) -> Result<Restriction, EwsError> {
    let mut exprs = elements(n).map(parse_expr).collect::<Result<Vec<_>, _>>()?;
    match exprs.len() {
        1 => exprs.pop().ok_or_else(|| invalid("empty restriction")),
        0 => Err(invalid("The restriction contains no search expression.")),
        _ => Ok(Restriction::And(exprs)),
    }
}

fn first_path(n: Node<'_, '_>) -> Result<PropertyPath, EwsError> {
    elements(n)
        .find_map(parse_path)
        .ok_or_else(|| invalid("The search expression names no property."))
}

fn parse_expr(n: Node<'_, '_>) -> Result<Restriction, EwsError> {
    if n.tag_name().namespace() != Some(NS_T) {
        return Err(invalid("Unknown search expression."));
    }
    let name = n.tag_name().name();
    let op = match name {
        "IsEqualTo" => Some(Op::Eq),
        "IsNotEqualTo" => Some(Op::Ne),
        "IsGreaterThan" => Some(Op::Gt),
        "IsGreaterThanOrEqualTo" => Some(Op::Ge),
        "IsLessThan" => Some(Op::Lt),
        "IsLessThanOrEqualTo" => Some(Op::Le),
        _ => None,
    };
    if let Some(op) = op {
        let path = first_path(n)?;
        let rhs = child(n, NS_T, "FieldURIOrConstant")
            .ok_or_else(|| invalid("The comparison has no FieldURIOrConstant."))?;
        let operand = match child(rhs, NS_T, "Constant") {
            Some(c) => Operand::Constant(c.attribute("Value").unwrap_or_default().to_owned()),
            None => Operand::Path(first_path(rhs)?),
        };
        return Ok(Restriction::Compare(op, path, operand));
    }
    match name {
        "And" | "Or" => {
            let parts = elements(n).map(parse_expr).collect::<Result<Vec<_>, _>>()?;
            if parts.is_empty() {
                return Err(invalid("And/Or needs at least one operand."));
            }
            Ok(if name == "And" {
                Restriction::And(parts)
            } else {
                Restriction::Or(parts)
            })
        }
        "Not" => {
            let inner = elements(n)
                .next()
                .ok_or_else(|| invalid("Not needs an operand."))?;
            Ok(Restriction::Not(Box::new(parse_expr(inner)?)))
        }
        "Exists" => Ok(Restriction::Exists(first_path(n)?)),
        "Contains" => {
            let path = first_path(n)?;
            let constant = child(n, NS_T, "Constant")
                .and_then(|c| c.attribute("Value"))
                .unwrap_or_default()
                .to_owned();
            let mode = match n.attribute("ContainmentMode") {
                Some("FullString") => Mode::FullString,
                Some("Prefixed") => Mode::Prefixed,
                Some("PrefixOnWords") => Mode::PrefixOnWords,
                Some("ExactPhrase") => Mode::ExactPhrase,
                _ => Mode::Substring,
            };
            let ignore_case = !matches!(n.attribute("ContainmentComparison"), None | Some("Exact"));
            Ok(Restriction::Contains {
                path,
                constant,
                mode,
                ignore_case,
            })
        }
        "Excludes" => {
            let path = first_path(n)?;
            let raw = child(n, NS_T, "Bitmask")
                .and_then(|b| b.attribute("Value"))
                .unwrap_or("0");
            let mask = match raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => raw.parse(),
            }
            .map_err(|_| invalid("The Excludes bitmask is not a number."))?;
            Ok(Restriction::Excludes(path, mask))
        }
        _ => Err(invalid("Unknown search expression.")),
    }
}

/// Evaluates `r` against `s`.
pub(crate) fn eval(r: &Restriction, s: &dyn Subject) -> Result<bool, EwsError> {
    Ok(match r {
        Restriction::And(parts) => {
            for p in parts {
                if !eval(p, s)? {
                    return Ok(false);
                }
            }
            true
        }
        Restriction::Or(parts) => {
            for p in parts {
                if eval(p, s)? {
                    return Ok(true);
                }
            }
            false
        }
        Restriction::Not(inner) => !eval(inner, s)?,
        Restriction::Exists(path) => s.value(path)?.is_some(),
        Restriction::Compare(op, path, operand) => {
            let Some(left) = s.value(path)? else {
                // A missing property never equals anything; it is "not equal" to everything.
                return Ok(*op == Op::Ne);
            };
            let right = match operand {
                Operand::Constant(c) => c.clone(),
                Operand::Path(p) => match s.value(p)? {
                    Some(v) => v.as_text(),
                    None => return Ok(*op == Op::Ne),
                },
            };
            compare(&left, &right, *op)
        }
        Restriction::Contains {
            path,
            constant,
            mode,
            ignore_case,
        } => match s.value(path)? {
            None => false,
            Some(Value::List(items)) => items
                .iter()
                .any(|v| contains(v, constant, *mode, *ignore_case)),
            Some(v) => contains(&v.as_text(), constant, *mode, *ignore_case),
        },
        Restriction::Excludes(path, mask) => match s.value(path)? {
            Some(Value::Int(v)) => u64::try_from(v).map_or(true, |v| v & mask == 0),
            _ => false,
        },
    })
}

fn contains(haystack: &str, needle: &str, mode: Mode, ignore_case: bool) -> bool {
    let (h, n) = if ignore_case {
        (haystack.to_lowercase(), needle.to_lowercase())
    } else {
        (haystack.to_owned(), needle.to_owned())
    };
    match mode {
        Mode::FullString => h == n,
        Mode::Prefixed => h.starts_with(&n),
        Mode::Substring | Mode::ExactPhrase => h.contains(&n),
        Mode::PrefixOnWords => h
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w.starts_with(&n)),
    }
}

fn ordering_matches(ord: Ordering, op: Op) -> bool {
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
    }
}

fn compare(left: &Value, right: &str, op: Op) -> bool {
    let text_ord = |l: &str| l.to_lowercase().cmp(&right.to_lowercase());
    match left {
        Value::Str(l) => ordering_matches(text_ord(l), op),
        Value::Bool(l) => match parse_bool(right) {
            Some(r) => ordering_matches(l.cmp(&r), op),
            None => op == Op::Ne,
        },
        Value::Int(l) => match right.trim().parse::<i64>() {
            Ok(r) => ordering_matches(l.cmp(&r), op),
            Err(_) => ordering_matches(text_ord(&l.to_string()), op),
        },
        Value::Float(l) => match right.trim().parse::<f64>() {
            Ok(r) => l
                .partial_cmp(&r)
                .is_some_and(|ord| ordering_matches(ord, op)),
            Err(_) => op == Op::Ne,
        },
        Value::Date(l) => match parse_datetime(right) {
            Some(r) => ordering_matches(l.cmp(&r), op),
            None => op == Op::Ne,
        },
        Value::List(items) => {
            let any = items
                .iter()
                .any(|v| ordering_matches(v.to_lowercase().cmp(&right.to_lowercase()), Op::Eq));
            match op {
                Op::Eq => any,
                Op::Ne => !any,
                _ => items
                    .iter()
                    .any(|v| ordering_matches(v.to_lowercase().cmp(&right.to_lowercase()), op)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<&'static str, Value>);

    impl Subject for Map {
        fn value(&self, path: &PropertyPath) -> Result<Option<Value>, EwsError> {
            match path {
                PropertyPath::Field(uri) if uri == "unsupported:Thing" => Err(EwsError::new(
                    ResponseCode::ErrorUnsupportedPathForQuery,
                    "no",
                )),
                PropertyPath::Field(uri) => Ok(self.0.get(uri.as_str()).cloned()),
                _ => Ok(None),
            }
        }
    }

    fn restriction(body: &str) -> Restriction {
        let xml = format!(
            r#"<m:Restriction xmlns:m="{}" xmlns:t="{NS_T}">{body}</m:Restriction>"#,
            super::super::xml::NS_M
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        parse(doc.root_element()).unwrap()
    }

    fn subject() -> Map {
        Map(HashMap::from([
            ("item:Subject", Value::Str("Quarterly Report".into())),
            ("message:IsRead", Value::Bool(false)),
            (
                "item:DateTimeReceived",
                Value::Date(parse_datetime("2024-05-01T12:00:00Z").unwrap()),
            ),
        ]))
    }

    #[test]
    fn string_equality_ignores_case() {
        let r = restriction(
            r#"<t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="quarterly report"/></t:FieldURIOrConstant></t:IsEqualTo>"#,
        );
        assert!(eval(&r, &subject()).unwrap());
    }

    #[test]
    fn dates_compare_chronologically() {
        let r = restriction(
            r#"<t:IsGreaterThan><t:FieldURI FieldURI="item:DateTimeReceived"/><t:FieldURIOrConstant><t:Constant Value="2024-04-30T00:00:00Z"/></t:FieldURIOrConstant></t:IsGreaterThan>"#,
        );
        assert!(eval(&r, &subject()).unwrap());
        let r = restriction(
            r#"<t:IsLessThan><t:FieldURI FieldURI="item:DateTimeReceived"/><t:FieldURIOrConstant><t:Constant Value="2024-04-30T00:00:00Z"/></t:FieldURIOrConstant></t:IsLessThan>"#,
        );
        assert!(!eval(&r, &subject()).unwrap());
    }

    #[test]
    fn and_or_not_combine() {
        let r = restriction(
            r#"<t:And><t:Not><t:IsEqualTo><t:FieldURI FieldURI="message:IsRead"/><t:FieldURIOrConstant><t:Constant Value="true"/></t:FieldURIOrConstant></t:IsEqualTo></t:Not><t:Or><t:Exists><t:FieldURI FieldURI="item:Nothing"/></t:Exists><t:Contains ContainmentMode="Substring" ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="REPORT"/></t:Contains></t:Or></t:And>"#,
        );
        assert!(eval(&r, &subject()).unwrap());
    }

    #[test]
    fn exact_contains_is_case_sensitive() {
        let r = restriction(
            r#"<t:Contains ContainmentMode="Substring" ContainmentComparison="Exact"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="REPORT"/></t:Contains>"#,
        );
        assert!(!eval(&r, &subject()).unwrap());
    }

    #[test]
    fn a_missing_property_is_not_equal_to_anything() {
        let r = restriction(
            r#"<t:IsNotEqualTo><t:FieldURI FieldURI="item:Nothing"/><t:FieldURIOrConstant><t:Constant Value="x"/></t:FieldURIOrConstant></t:IsNotEqualTo>"#,
        );
        assert!(eval(&r, &subject()).unwrap());
    }

    #[test]
    fn an_unsupported_path_is_an_error_not_a_miss() {
        let r = restriction(r#"<t:Exists><t:FieldURI FieldURI="unsupported:Thing"/></t:Exists>"#);
        assert_eq!(
            eval(&r, &subject()).unwrap_err().code,
            ResponseCode::ErrorUnsupportedPathForQuery
        );
    }
}
