//! Response shapes: which properties a GetItem/FindItem/SyncFolderItems/GetFolder answer
//! carries.

use super::{PropertyPath, ews_enum};
use crate::xml::XmlWriter;

ews_enum! {
    /// The base set of properties returned.
    ///
    /// Reference: [BaseShape](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/baseshape).
    closed BaseShape {
        /// Ids only: one store call regardless of result size (what sync should ask for).
        IdOnly = "IdOnly",
        /// The default set for the item or folder type.
        Default = "Default",
        /// Every property the type defines (not extended properties).
        AllProperties = "AllProperties",
    }
}

ews_enum! {
    /// The body format to return.
    ///
    /// Reference: [BodyType](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/bodytype).
    closed BodyTypeResponse {
        /// Whatever the item holds.
        Best = "Best",
        /// HTML.
        Html = "HTML",
        /// Plain text.
        Text = "Text",
    }
}

/// What to return for each item.
///
/// Reference: [ItemShape](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/itemshape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemShape {
    /// The base property set.
    pub base_shape: BaseShape,
    /// Whether to return the item as MIME (`t:MimeContent`).
    pub include_mime_content: bool,
    /// The body format, when not the server's default.
    pub body_type: Option<BodyTypeResponse>,
    /// Properties beyond the base set (headers, Internet message id, extended properties…).
    pub additional_properties: Vec<PropertyPath>,
}

impl ItemShape {
    /// A shape with just the base set.
    pub fn new(base_shape: BaseShape) -> Self {
        ItemShape {
            base_shape,
            include_mime_content: false,
            body_type: None,
            additional_properties: Vec::new(),
        }
    }

    /// Ids only, what sync asks for.
    pub fn id_only() -> Self {
        ItemShape::new(BaseShape::IdOnly)
    }

    /// Adds properties to the shape.
    pub fn with_properties(mut self, paths: impl IntoIterator<Item = PropertyPath>) -> Self {
        self.additional_properties.extend(paths);
        self
    }

    /// Writes the shape as `element` (`m:ItemShape`), children in schema order.
    pub(crate) fn write_as(&self, w: &mut XmlWriter, element: &str) {
        w.start(element, &[]);
        w.text_element("t:BaseShape", self.base_shape.as_str());
        if self.include_mime_content {
            w.text_element("t:IncludeMimeContent", "true");
        }
        if let Some(bt) = self.body_type {
            w.text_element("t:BodyType", bt.as_str());
        }
        write_additional(w, &self.additional_properties);
        w.end(element);
    }
}

/// What to return for each folder.
///
/// Reference: [FolderShape](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/foldershape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderShape {
    /// The base property set.
    pub base_shape: BaseShape,
    /// Properties beyond the base set.
    pub additional_properties: Vec<PropertyPath>,
}

impl FolderShape {
    /// A shape with just the base set.
    pub fn new(base_shape: BaseShape) -> Self {
        FolderShape {
            base_shape,
            additional_properties: Vec::new(),
        }
    }

    pub(crate) fn write_as(&self, w: &mut XmlWriter, element: &str) {
        w.start(element, &[]);
        w.text_element("t:BaseShape", self.base_shape.as_str());
        write_additional(w, &self.additional_properties);
        w.end(element);
    }
}

/// `t:AdditionalProperties`, omitted when empty (the schema requires at least one path).
fn write_additional(w: &mut XmlWriter, paths: &[PropertyPath]) {
    if paths.is_empty() {
        return;
    }
    w.start("t:AdditionalProperties", &[]);
    for p in paths {
        p.write(w);
    }
    w.end("t:AdditionalProperties");
}
