//! Search restrictions for FindItem and FindFolder, and sort orders.

use super::{DateTime, PropertyPath, ews_enum};
use crate::xml::XmlWriter;

ews_enum! {
    /// How two values are compared.
    ///
    /// Reference: [IsEqualTo](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/isequalto).
    closed ComparisonOp {
        /// `=`.
        IsEqualTo = "IsEqualTo",
        /// `≠`.
        IsNotEqualTo = "IsNotEqualTo",
        /// `>`.
        IsGreaterThan = "IsGreaterThan",
        /// `≥`.
        IsGreaterThanOrEqualTo = "IsGreaterThanOrEqualTo",
        /// `<`.
        IsLessThan = "IsLessThan",
        /// `≤`.
        IsLessThanOrEqualTo = "IsLessThanOrEqualTo",
    }
}

ews_enum! {
    /// Which part of the text a `Contains` must match.
    ///
    /// Reference: [Contains](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/contains).
    closed ContainmentMode {
        /// The whole value.
        FullString = "FullString",
        /// A prefix.
        Prefixed = "Prefixed",
        /// Anywhere in the value.
        Substring = "Substring",
        /// A prefix of any word.
        PrefixOnWords = "PrefixOnWords",
        /// A phrase.
        ExactPhrase = "ExactPhrase",
    }
}

ews_enum! {
    /// How strictly a `Contains` compares.
    ///
    /// Reference: [Contains](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/contains).
    closed ContainmentComparison {
        /// Exactly.
        Exact = "Exact",
        /// Ignoring case.
        IgnoreCase = "IgnoreCase",
        /// Ignoring non-spacing characters.
        IgnoreNonSpacingCharacters = "IgnoreNonSpacingCharacters",
        /// Loosely.
        Loose = "Loose",
        /// Ignoring case and non-spacing characters.
        IgnoreCaseAndNonSpacingCharacters = "IgnoreCaseAndNonSpacingCharacters",
        /// Loosely, ignoring case.
        LooseAndIgnoreCase = "LooseAndIgnoreCase",
        /// Loosely, ignoring non-spacing characters.
        LooseAndIgnoreNonSpace = "LooseAndIgnoreNonSpace",
        /// Loosely, ignoring case and non-spacing characters.
        LooseAndIgnoreCaseAndIgnoreNonSpace = "LooseAndIgnoreCaseAndIgnoreNonSpace",
    }
}

/// The right-hand side of a comparison.
///
/// Reference: [FieldURIOrConstant](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/fielduriorconstant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A constant, written as EWS expects the property's type (`true`, `42`, a date…).
    Constant(String),
    /// Another property of the same item.
    Path(PropertyPath),
}

impl Operand {
    /// A constant.
    pub fn constant(value: impl Into<String>) -> Self {
        Operand::Constant(value.into())
    }

    /// A date constant, in the form EWS compares dates in.
    pub fn datetime(value: DateTime) -> Self {
        Operand::Constant(value.to_ews())
    }
}

/// A search restriction.
///
/// `And` and `Or` need at least one operand (Exchange refuses an empty one with
/// `ErrorSchemaValidation`).
///
/// Reference: [Restriction](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/restriction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restriction {
    /// `path <op> operand`.
    Compare {
        /// The comparison.
        op: ComparisonOp,
        /// The property compared.
        path: PropertyPath,
        /// What it is compared with.
        operand: Operand,
    },
    /// The property is set.
    Exists(PropertyPath),
    /// The property's text contains `value`.
    Contains {
        /// The property searched.
        path: PropertyPath,
        /// The text looked for.
        value: String,
        /// Which part must match (server default: the whole string).
        mode: Option<ContainmentMode>,
        /// How strictly (server default: exact).
        comparison: Option<ContainmentComparison>,
    },
    /// Every operand holds.
    And(Vec<Restriction>),
    /// Some operand holds.
    Or(Vec<Restriction>),
    /// The operand does not hold.
    Not(Box<Restriction>),
}

impl Restriction {
    /// `path = value`.
    pub fn equal(path: impl Into<PropertyPath>, value: impl Into<String>) -> Self {
        Restriction::compare(ComparisonOp::IsEqualTo, path, Operand::constant(value))
    }

    /// `path <op> operand`.
    pub fn compare(op: ComparisonOp, path: impl Into<PropertyPath>, operand: Operand) -> Self {
        Restriction::Compare {
            op,
            path: path.into(),
            operand,
        }
    }

    /// Case-insensitive substring search.
    pub fn contains(path: impl Into<PropertyPath>, value: impl Into<String>) -> Self {
        Restriction::Contains {
            path: path.into(),
            value: value.into(),
            mode: Some(ContainmentMode::Substring),
            comparison: Some(ContainmentComparison::IgnoreCase),
        }
    }

    /// Writes `m:Restriction` around the expression.
    ///
    /// The 2010 SP2 schema's `RestrictionType` lists every expression except `Contains`
    /// (which is only reachable through `And`/`Or`/`Not`), so a top-level `Contains` is
    /// wrapped in a one-operand `And`, which means the same thing.
    pub(crate) fn write_as(&self, w: &mut XmlWriter, element: &str) {
        w.start(element, &[]);
        if matches!(self, Restriction::Contains { .. }) {
            w.start("t:And", &[]);
            self.write_expression(w);
            w.end("t:And");
        } else {
            self.write_expression(w);
        }
        w.end(element);
    }

    fn write_expression(&self, w: &mut XmlWriter) {
        match self {
            Restriction::Compare { op, path, operand } => {
                let name = format!("t:{}", op.as_str());
                w.start(&name, &[]);
                path.write(w);
                w.start("t:FieldURIOrConstant", &[]);
                match operand {
                    Operand::Constant(v) => {
                        w.empty("t:Constant", &[("Value", v)]);
                    }
                    Operand::Path(p) => p.write(w),
                }
                w.end("t:FieldURIOrConstant");
                w.end(&name);
            }
            Restriction::Exists(path) => {
                w.start("t:Exists", &[]);
                path.write(w);
                w.end("t:Exists");
            }
            Restriction::Contains {
                path,
                value,
                mode,
                comparison,
            } => {
                let mut attrs: Vec<(&str, &str)> = Vec::with_capacity(2);
                if let Some(m) = mode {
                    attrs.push(("ContainmentMode", m.as_str()));
                }
                if let Some(c) = comparison {
                    attrs.push(("ContainmentComparison", c.as_str()));
                }
                w.start("t:Contains", &attrs);
                path.write(w);
                w.empty("t:Constant", &[("Value", value)]);
                w.end("t:Contains");
            }
            Restriction::And(ops) | Restriction::Or(ops) => {
                let name = if matches!(self, Restriction::And(_)) {
                    "t:And"
                } else {
                    "t:Or"
                };
                w.start(name, &[]);
                for op in ops {
                    op.write_expression(w);
                }
                w.end(name);
            }
            Restriction::Not(inner) => {
                w.start("t:Not", &[]);
                inner.write_expression(w);
                w.end("t:Not");
            }
        }
    }
}

ews_enum! {
    /// Sort direction.
    ///
    /// Reference: [FieldOrder](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/fieldorder).
    closed SortDirection {
        /// Smallest first.
        Ascending = "Ascending",
        /// Largest first.
        Descending = "Descending",
    }
}

/// One sort key of a FindItem.
///
/// Reference: [SortOrder](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/sortorder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortOrder {
    /// The property sorted on.
    pub path: PropertyPath,
    /// The direction.
    pub direction: SortDirection,
}

impl SortOrder {
    /// Writes `m:SortOrder` for a non-empty list.
    pub(crate) fn write_list(w: &mut XmlWriter, orders: &[SortOrder]) {
        if orders.is_empty() {
            return;
        }
        w.start("m:SortOrder", &[]);
        for o in orders {
            w.start("t:FieldOrder", &[("Order", o.direction.as_str())]);
            o.path.write(w);
            w.end("t:FieldOrder");
        }
        w.end("m:SortOrder");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::FieldUri;

    fn written(r: &Restriction) -> String {
        let mut w = XmlWriter::new();
        r.write_as(&mut w, "m:Restriction");
        w.into_string()
    }

    #[test]
    fn a_comparison_puts_the_constant_in_field_uri_or_constant() {
        let r = Restriction::equal(FieldUri::ITEM_SUBJECT, "Hi");
        assert_eq!(
            written(&r),
            r#"<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="Hi"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>"#
        );
    }

    #[test]
    fn a_top_level_contains_is_wrapped_in_and() {
        let r = Restriction::contains(FieldUri::ITEM_SUBJECT, "x");
        assert_eq!(
            written(&r),
            r#"<m:Restriction><t:And><t:Contains ContainmentMode="Substring" ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="x"/></t:Contains></t:And></m:Restriction>"#
        );
    }

    #[test]
    fn boolean_operators_nest() {
        let r = Restriction::Or(vec![
            Restriction::Exists(FieldUri::ITEM_SUBJECT.into()),
            Restriction::Not(Box::new(Restriction::equal(
                FieldUri::MESSAGE_IS_READ,
                "true",
            ))),
        ]);
        assert_eq!(
            written(&r),
            r#"<m:Restriction><t:Or><t:Exists><t:FieldURI FieldURI="item:Subject"/></t:Exists><t:Not><t:IsEqualTo><t:FieldURI FieldURI="message:IsRead"/><t:FieldURIOrConstant><t:Constant Value="true"/></t:FieldURIOrConstant></t:IsEqualTo></t:Not></t:Or></m:Restriction>"#
        );
    }
}
