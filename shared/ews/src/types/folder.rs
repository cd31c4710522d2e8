//! Folders.

use super::read;
use super::{ExtendedProperty, FolderId, ews_enum};
use crate::xml::{Element, NS_TYPES, XmlWriter};
use serde::Serialize;

ews_enum! {
    /// The kind of folder, as the element that carries it is named.
    ///
    /// Reference: [Folders](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/folders-ex15websvcsotherref).
    closed FolderKind {
        /// A mail (or generic) folder.
        Folder = "Folder",
        /// A calendar.
        CalendarFolder = "CalendarFolder",
        /// A contacts folder.
        ContactsFolder = "ContactsFolder",
        /// A search folder.
        SearchFolder = "SearchFolder",
        /// A tasks folder.
        TasksFolder = "TasksFolder",
    }
}

/// A folder as GetFolder/FindFolder/CreateFolder return it.
///
/// Reference: [Folder](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Folder {
    /// Which kind.
    pub kind: FolderKind,
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<FolderId>,
    /// Its parent's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<FolderId>,
    /// `IPF.Note`, `IPF.Appointment`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_class: Option<String>,
    /// The name shown to users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Items in the folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u32>,
    /// Direct subfolders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_folder_count: Option<u32>,
    /// Unread items (mail and tasks folders only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_count: Option<u32>,
    /// Extended properties asked for in the shape.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extended_properties: Vec<ExtendedProperty>,
}

impl Folder {
    /// Reads a folder element; `None` for an element that is not a folder kind.
    pub(crate) fn read(el: &Element) -> Option<Folder> {
        if el.ns != NS_TYPES {
            return None;
        }
        let kind = FolderKind::parse(&el.name)?;
        Some(Folder {
            kind,
            folder_id: el.child(NS_TYPES, "FolderId").and_then(FolderId::read),
            parent_folder_id: el
                .child(NS_TYPES, "ParentFolderId")
                .and_then(FolderId::read),
            folder_class: read::token(el, "FolderClass").map(str::to_owned),
            display_name: read::string(el, "DisplayName"),
            total_count: read::number(el, "TotalCount"),
            child_folder_count: read::number(el, "ChildFolderCount"),
            unread_count: read::number(el, "UnreadCount"),
            extended_properties: ExtendedProperty::read_all(el),
        })
    }

    /// Every folder in an `ArrayOfFoldersType` element.
    pub(crate) fn read_list(folders: &Element) -> Vec<Folder> {
        folders.children.iter().filter_map(Folder::read).collect()
    }
}

/// A folder to create.
///
/// Reference: [CreateFolder](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createfolder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFolder {
    /// Which kind.
    pub kind: FolderKind,
    /// Its name.
    pub display_name: String,
    /// Its class (`IPF.Note` for mail); the server picks one from the kind when absent.
    pub folder_class: Option<String>,
    /// Extended properties to set on it.
    pub extended_properties: Vec<ExtendedProperty>,
}

impl NewFolder {
    /// A mail folder named `display_name`.
    pub fn mail(display_name: impl Into<String>) -> Self {
        NewFolder {
            kind: FolderKind::Folder,
            display_name: display_name.into(),
            folder_class: Some("IPF.Note".into()),
            extended_properties: Vec::new(),
        }
    }

    /// Writes the folder element, children in `BaseFolderType` order.
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        let name = format!("t:{}", self.kind.as_str());
        w.start(&name, &[]);
        if let Some(class) = &self.folder_class {
            w.text_element("t:FolderClass", class);
        }
        w.text_element("t:DisplayName", &self.display_name);
        for p in &self.extended_properties {
            p.write(w);
        }
        w.end(&name);
    }
}
