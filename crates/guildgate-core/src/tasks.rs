//! The tasks surface's rules (Arca-compatible): key format, scopes, workspace roles,
//! priorities, status categories, dates, and the records it serves.

use serde::Serialize;
use serde_json::Value;

use crate::clock::{Millis, serde_time};
use crate::token::{Encoding, TokenFormat};

/// `arca_` + 64 lowercase hex (32 bytes: 30 random + 2 checksum bytes).
pub const TASKS_KEY: TokenFormat = TokenFormat {
    prefix: "arca_",
    encoding: Encoding::LowerHex,
    bytes: 32,
    checksum_bytes: 2,
};

crate::scopes::scope_table! {
    UsersRead => "users:read",
    WorkspacesRead => "workspaces:read",
    WorkspacesWrite => "workspaces:write",
    FoldersRead => "folders:read",
    FoldersWrite => "folders:write",
    ListsRead => "lists:read",
    ListsWrite => "lists:write",
    TasksRead => "tasks:read",
    TasksWrite => "tasks:write",
    CommentsRead => "comments:read",
    CommentsWrite => "comments:write",
}

/// A workspace role, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "viewer" => Some(Role::Viewer),
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Viewers read only.
    pub fn can_write(self) -> bool {
        self >= Role::Member
    }

    /// Members cannot delete folders or lists; admins and owners can.
    pub fn can_delete_containers(self) -> bool {
        self >= Role::Admin
    }

    /// Only owners and admins create statuses.
    pub fn can_manage_statuses(self) -> bool {
        self >= Role::Admin
    }
}

pub const PRIORITIES: [&str; 5] = ["urgent", "high", "medium", "low", "none"];

pub fn parse_priority(value: &str) -> Result<&'static str, String> {
    PRIORITIES
        .iter()
        .find(|p| **p == value)
        .copied()
        .ok_or_else(|| {
            "Invalid priority. Must be one of: urgent, high, medium, low, none".to_owned()
        })
}

/// The four categories, with the other page's names accepted as aliases.
pub fn parse_status_category(value: &str) -> Result<&'static str, String> {
    match value {
        "pending" => Ok("pending"),
        "in_progress" | "active" => Ok("in_progress"),
        "completed" | "done" => Ok("completed"),
        "cancelled" | "canceled" => Ok("cancelled"),
        _ => Err(
            "Invalid category. Must be one of: pending, in_progress, completed, cancelled"
                .to_owned(),
        ),
    }
}

/// ISO 8601: `2026-03-18T17:00:00` (no zone: UTC), with fractions, `Z` or an offset
/// (`+02:00`, `+0200` or `+02`), minutes without seconds, or a bare date (midnight UTC).
/// The error is the reference's message for `field`.
pub fn parse_task_date(field: &str, value: &str) -> Result<Millis, String> {
    let message = || format!("Invalid {field} format. Use ISO 8601 UTC, e.g. 2026-03-18T17:00:00");
    as_rfc3339(value.trim())
        .and_then(|candidate| crate::clock::parse_rfc3339(&candidate))
        .ok_or_else(message)
}

/// The RFC 3339 spelling of an ISO 8601 date-time in its extended format (RFC 3339 wants
/// seconds and a zone written `Z` or `+hh:mm`; ISO 8601 lets both be shorter).
fn as_rfc3339(value: &str) -> Option<String> {
    if value.len() == 10 {
        return Some(format!("{value}T00:00:00Z"));
    }
    let (date, time) = (value.get(..11)?, value.get(11..)?);
    // The separator must be one: a date with an offset (`2026-03-18+02:00`, XML Schema's
    // `xs:date`) would otherwise read as a time of day.
    if !matches!(date.as_bytes()[10], b'T' | b't' | b' ') {
        return None;
    }
    let (clock, zone) = match time.find(['Z', 'z', '+', '-']) {
        Some(at) => time.split_at(at),
        None => (time, ""),
    };
    let seconds = if clock.len() == 5 { ":00" } else { "" };
    let zone = match zone.as_bytes() {
        [] => "Z".to_owned(),
        [sign @ (b'+' | b'-'), h1, h2] => {
            format!("{}{}{}:00", *sign as char, *h1 as char, *h2 as char)
        }
        [sign @ (b'+' | b'-'), h1, h2, m1, m2] if m1.is_ascii_digit() => format!(
            "{}{}{}:{}{}",
            *sign as char, *h1 as char, *h2 as char, *m1 as char, *m2 as char
        ),
        _ => zone.to_owned(),
    };
    Some(format!("{date}{clock}{seconds}{zone}"))
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub avatar_url: Option<String>,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub color: Option<String>,
    pub image_url: Option<String>,
    pub owner_id: i64,
    /// The caller's role in it.
    pub role: Role,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkspaceMember {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(serialize_with = "serde_time::required")]
    pub joined_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskStatus {
    pub id: i64,
    pub workspace_id: i64,
    pub name: String,
    pub category: String,
    pub icon: Option<String>,
    pub color: String,
    pub position: i64,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Label {
    pub id: i64,
    pub workspace_id: i64,
    pub name: String,
    pub color: String,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
}

/// A folder or a list: both are named, coloured containers in a workspace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Container {
    pub id: i64,
    pub workspace_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<i64>,
    pub name: String,
    pub icon: Option<String>,
    pub color: String,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
    #[serde(serialize_with = "serde_time::required")]
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    pub id: i64,
    pub workspace_id: i64,
    pub list_id: i64,
    pub parent_id: Option<i64>,
    pub identifier: i64,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub priority: String,
    pub status_id: Option<i64>,
    #[serde(serialize_with = "serde_time::optional")]
    pub due_date: Option<Millis>,
    #[serde(serialize_with = "serde_time::optional")]
    pub start_date: Option<Millis>,
    pub creator_id: i64,
    pub assignee_ids: Vec<i64>,
    #[serde(skip)]
    pub label_ids: Vec<i64>,
    #[serde(skip)]
    pub custom_fields: Value,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
    #[serde(serialize_with = "serde_time::required")]
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comment {
    pub id: i64,
    pub task_id: i64,
    pub user_id: i64,
    pub content: String,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
}

/// An `arca_` key's record; the secret itself is never kept.
#[derive(Clone, Debug, PartialEq)]
pub struct TasksKey {
    pub id: String,
    pub user_id: i64,
    pub label: String,
    pub scopes: ScopeSet,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_arca_and_64_hex() {
        let key = TASKS_KEY.generate();
        assert!(key.expose().starts_with("arca_"));
        assert_eq!(key.expose().len(), 69);
        assert!(TASKS_KEY.parse(key.expose()).is_ok());
    }

    #[test]
    fn dates_without_a_zone_are_utc() {
        let utc = parse_task_date("due_date", "2026-03-18T17:00:00").unwrap();
        assert_eq!(crate::clock::to_rfc3339(utc), "2026-03-18T17:00:00.000Z");
        assert_eq!(parse_task_date("due_date", "2026-03-18T17:00:00Z"), Ok(utc));
        assert_eq!(
            parse_task_date("due_date", "2026-03-18T19:00:00+02:00"),
            Ok(utc)
        );
        assert!(parse_task_date("due_date", "2026-03-18").is_ok());
        for other_spelling in [
            "2026-03-18T19:00:00+0200",
            "2026-03-18T19:00:00+02",
            "2026-03-18T17:00Z",
            "2026-03-18T17:00",
            "2026-03-18T15:00-0200",
            "2026-03-18 17:00:00.000z",
        ] {
            assert_eq!(
                parse_task_date("due_date", other_spelling),
                Ok(utc),
                "{other_spelling}"
            );
        }
        for wrong in [
            "2026-03-18T17",
            "2026-03-18T17:00:00+2",
            "2026-03-18T17:00:00+02:0",
            "2026-03-18+02:00",
            "2026-03-18-05:30",
            "2026-03-18x17:00",
        ] {
            assert!(parse_task_date("due_date", wrong).is_err(), "{wrong}");
        }
        assert_eq!(
            parse_task_date("start_date", "18/03/2026").unwrap_err(),
            "Invalid start_date format. Use ISO 8601 UTC, e.g. 2026-03-18T17:00:00"
        );
    }

    #[test]
    fn roles_and_vocabularies() {
        assert!(!Role::Viewer.can_write() && Role::Member.can_write());
        assert!(!Role::Member.can_delete_containers() && Role::Admin.can_delete_containers());
        assert_eq!(parse_status_category("done"), Ok("completed"));
        assert!(parse_priority("critical").is_err());
        assert_eq!(
            ScopeSet::parse_list("tasks:read, tasks:write")
                .unwrap()
                .names(),
            ["tasks:read", "tasks:write"]
        );
        assert!(ScopeSet::parse_list("tasks:admin").is_err());
    }
}

/// One row of the tasks surface's policy table.
#[derive(Clone, Copy, Debug)]
pub struct TaskRoute {
    /// Stable name: the audit row's action.
    pub name: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub scope: Scope,
    /// Writes accept `Idempotency-Key`.
    pub write: bool,
}

macro_rules! task_routes {
    ($($name:literal, $method:literal, $path:literal, $scope:ident;)*) => {
        /// Every route of the tasks surface, with the scope it needs. The router is built
        /// from this table.
        pub const TASK_ROUTES: &[TaskRoute] = &[$(TaskRoute {
            name: $name,
            method: $method,
            path: $path,
            scope: Scope::$scope,
            write: !matches!($method.as_bytes(), b"GET"),
        }),*];
    };
}

task_routes! {
    "get_me", "GET", "/api/v1/me", UsersRead;
    "list_workspaces", "GET", "/api/v1/workspaces", WorkspacesRead;
    "get_workspace", "GET", "/api/v1/workspaces/{workspace_id}", WorkspacesRead;
    "list_members", "GET", "/api/v1/workspaces/{workspace_id}/members", WorkspacesRead;
    "list_statuses", "GET", "/api/v1/workspaces/{workspace_id}/statuses", WorkspacesRead;
    "create_status", "POST", "/api/v1/statuses", WorkspacesWrite;
    "list_labels", "GET", "/api/v1/workspaces/{workspace_id}/labels", WorkspacesRead;
    "create_label", "POST", "/api/v1/labels", WorkspacesWrite;
    "list_folders", "GET", "/api/v1/workspaces/{workspace_id}/folders", FoldersRead;
    "create_folder", "POST", "/api/v1/folders", FoldersWrite;
    "update_folder", "PATCH", "/api/v1/folders/{folder_id}", FoldersWrite;
    "delete_folder", "DELETE", "/api/v1/folders/{folder_id}", FoldersWrite;
    "list_lists", "GET", "/api/v1/workspaces/{workspace_id}/lists", ListsRead;
    "create_list", "POST", "/api/v1/lists", ListsWrite;
    "update_list", "PATCH", "/api/v1/lists/{list_id}", ListsWrite;
    "delete_list", "DELETE", "/api/v1/lists/{list_id}", ListsWrite;
    "list_tasks", "GET", "/api/v1/workspaces/{workspace_id}/tasks", TasksRead;
    "get_task", "GET", "/api/v1/tasks/{task_id}", TasksRead;
    "create_task", "POST", "/api/v1/tasks", TasksWrite;
    "update_task", "PATCH", "/api/v1/tasks/{task_id}", TasksWrite;
    "delete_task", "DELETE", "/api/v1/tasks/{task_id}", TasksWrite;
    "list_comments", "GET", "/api/v1/tasks/{task_id}/comments", CommentsRead;
    "create_comment", "POST", "/api/v1/tasks/{task_id}/comments", CommentsWrite;
}
