//! Row <-> model mapping for the tasks tables.

use super::DbRow;
use guildgate_core::tasks::{
    Container, Label, Role, ScopeSet, Task, TaskStatus, TaskUser, TasksKey, Workspace,
};
use sqlx::Row;

use crate::{ContainerKind, StoreError, StoreResult};

pub(super) fn bad(what: &str) -> StoreError {
    StoreError::Internal(format!("stored {what} is not valid"))
}

pub(super) fn table(kind: ContainerKind) -> &'static str {
    match kind {
        ContainerKind::Folder => "task_folders",
        ContainerKind::List => "task_lists",
    }
}

pub(super) fn ids(text: &str) -> StoreResult<Vec<i64>> {
    serde_json::from_str(text).map_err(|_| bad("id list"))
}

pub(super) fn key_row(row: &DbRow) -> StoreResult<TasksKey> {
    Ok(TasksKey {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        label: row.try_get("label")?,
        scopes: ScopeSet::parse_list(row.try_get("scopes")?).map_err(|_| bad("scopes"))?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) fn user_row(row: &DbRow) -> StoreResult<TaskUser> {
    Ok(TaskUser {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        avatar_url: row.try_get("avatar_url")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn role(row: &DbRow) -> StoreResult<Role> {
    Role::parse(row.try_get("role")?).ok_or_else(|| bad("role"))
}

pub(super) fn workspace_row(row: &DbRow) -> StoreResult<Workspace> {
    Ok(Workspace {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        slug: row.try_get("slug")?,
        description: row.try_get("description")?,
        icon: row.try_get("icon")?,
        color: row.try_get("color")?,
        image_url: row.try_get("image_url")?,
        owner_id: row.try_get("owner_id")?,
        role: role(row)?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn status_row(row: &DbRow) -> StoreResult<TaskStatus> {
    Ok(TaskStatus {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        category: row.try_get("category")?,
        icon: row.try_get("icon")?,
        color: row.try_get("color")?,
        position: row.try_get("position")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn label_row(row: &DbRow) -> StoreResult<Label> {
    Ok(Label {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        color: row.try_get("color")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn container_row(kind: ContainerKind, row: &DbRow) -> StoreResult<Container> {
    Ok(Container {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        folder_id: match kind {
            ContainerKind::Folder => None,
            ContainerKind::List => Some(row.try_get("folder_id")?),
        },
        name: row.try_get("name")?,
        icon: row.try_get("icon")?,
        color: row.try_get("color")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn task_row(row: &DbRow) -> StoreResult<Task> {
    let custom: String = row.try_get("custom_fields")?;
    Ok(Task {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        list_id: row.try_get("list_id")?,
        parent_id: row.try_get("parent_id")?,
        identifier: row.try_get("identifier")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        priority: row.try_get("priority")?,
        status_id: row.try_get("status_id")?,
        due_date: row.try_get("due_date")?,
        start_date: row.try_get("start_date")?,
        creator_id: row.try_get("creator_id")?,
        assignee_ids: ids(row.try_get("assignee_ids")?)?,
        label_ids: ids(row.try_get("label_ids")?)?,
        custom_fields: serde_json::from_str(&custom).map_err(|_| bad("custom fields"))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
