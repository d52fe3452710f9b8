//! Folders and lists: the same shape and the same rules, one set of handlers.

use axum::http::StatusCode;
use guildgate_core::tasks::{Container, Role};
use guildgate_storage::ContainerKind;
use serde_json::json;

use super::{PathId, data};
use crate::admit;
use crate::body::JsonBody;
use crate::caller::Caller;
use crate::error::{Answer, TasksError};

struct Words {
    noun: &'static str,
    invalid_id: &'static str,
    default_color: &'static str,
}

fn words(kind: ContainerKind) -> Words {
    match kind {
        ContainerKind::Folder => Words {
            noun: "Folder",
            invalid_id: "Invalid folder ID",
            default_color: "blue",
        },
        ContainerKind::List => Words {
            noun: "List",
            invalid_id: "Invalid list ID",
            default_color: "gray",
        },
    }
}

async fn list(caller: Caller, id: PathId, kind: ContainerKind) -> Answer {
    let workspace = caller
        .workspace(id.parse("Invalid workspace ID")?, "Workspace")
        .await?;
    Ok(data(
        &caller.state.store.containers(kind, workspace.id).await?,
    ))
}

/// The folder a list goes in: it must be live and in the same workspace.
async fn folder_in(caller: &Caller, workspace_id: i64, folder_id: i64) -> Result<(), TasksError> {
    match caller
        .state
        .store
        .container(ContainerKind::Folder, folder_id)
        .await?
    {
        Some(folder) if folder.workspace_id == workspace_id => Ok(()),
        _ => Err(TasksError::not_found("Folder")),
    }
}

async fn create(caller: Caller, body: JsonBody, kind: ContainerKind) -> Answer {
    let w = words(kind);
    let workspace_id = body.required_id("workspace_id", "Invalid workspace ID")?;
    let folder_id = match kind {
        ContainerKind::Folder => None,
        ContainerKind::List => Some(body.required_id("folder_id", "Invalid folder ID")?),
    };
    let name = body.required_text("name", 200)?;
    let icon = body.text("icon", 100)?;
    let color = body
        .text("color", 40)?
        .unwrap_or_else(|| w.default_color.to_owned());
    let workspace = caller.workspace(workspace_id, "Workspace").await?;
    caller.require_write(&workspace)?;
    if let Some(folder_id) = folder_id {
        folder_in(&caller, workspace.id, folder_id).await?;
    }
    let mut write = admit!(caller, &body.raw);
    let now = write.caller.now();
    let mut container = Container {
        id: 0,
        workspace_id,
        folder_id,
        name,
        icon,
        color,
        created_at: now,
        updated_at: now,
    };
    container.id = write.tx().insert_container(kind, &container).await?;
    write.caller.set_target(container.id);
    write.finish(StatusCode::CREATED, &container).await
}

/// The container, when the caller can see its workspace.
async fn visible(
    caller: &Caller,
    id: &PathId,
    kind: ContainerKind,
) -> Result<(Container, guildgate_core::tasks::Workspace), TasksError> {
    let w = words(kind);
    let id = id.parse(w.invalid_id)?;
    caller.set_target(id);
    let container = caller
        .state
        .store
        .container(kind, id)
        .await?
        .ok_or_else(|| TasksError::not_found(w.noun))?;
    let workspace = caller.workspace(container.workspace_id, w.noun).await?;
    Ok((container, workspace))
}

async fn update(caller: Caller, id: PathId, body: JsonBody, kind: ContainerKind) -> Answer {
    let (mut container, workspace) = visible(&caller, &id, kind).await?;
    caller.require_write(&workspace)?;
    if body.has("name") {
        container.name = body.required_text("name", 200)?;
    }
    if body.has("icon") {
        container.icon = body.text("icon", 100)?;
    }
    if let Some(color) = body.text("color", 40)? {
        container.color = color;
    }
    if kind == ContainerKind::List
        && let Some(folder_id) = body.id("folder_id", "Invalid folder ID")?
    {
        folder_in(&caller, workspace.id, folder_id).await?;
        container.folder_id = Some(folder_id);
    }
    let mut write = admit!(caller, &body.raw);
    container.updated_at = write.caller.now();
    write.tx().update_container(kind, &container).await?;
    write.finish(StatusCode::OK, &container).await
}

async fn delete(caller: Caller, id: PathId, body: JsonBody, kind: ContainerKind) -> Answer {
    id.parse(words(kind).invalid_id)?;
    // Admitted first, so a retried DELETE replays its saved answer instead of a 404.
    let mut write = admit!(caller, &body.raw);
    let (container, workspace) = visible(&write.caller, &id, kind).await?;
    write.caller.require_write(&workspace)?;
    write.caller.require_role(
        &workspace,
        Role::can_delete_containers,
        "Only workspace owners and admins can delete folders and lists",
    )?;
    let now = write.caller.now();
    write.tx().delete_container(kind, container.id, now).await?;
    write
        .finish(
            StatusCode::OK,
            &json!({ "id": container.id, "deleted": true }),
        )
        .await
}

pub async fn list_folders(caller: Caller, id: PathId) -> Answer {
    list(caller, id, ContainerKind::Folder).await
}
pub async fn create_folder(caller: Caller, body: JsonBody) -> Answer {
    create(caller, body, ContainerKind::Folder).await
}
pub async fn update_folder(caller: Caller, id: PathId, body: JsonBody) -> Answer {
    update(caller, id, body, ContainerKind::Folder).await
}
pub async fn delete_folder(caller: Caller, id: PathId, body: JsonBody) -> Answer {
    delete(caller, id, body, ContainerKind::Folder).await
}
pub async fn list_lists(caller: Caller, id: PathId) -> Answer {
    list(caller, id, ContainerKind::List).await
}
pub async fn create_list(caller: Caller, body: JsonBody) -> Answer {
    create(caller, body, ContainerKind::List).await
}
pub async fn update_list(caller: Caller, id: PathId, body: JsonBody) -> Answer {
    update(caller, id, body, ContainerKind::List).await
}
pub async fn delete_list(caller: Caller, id: PathId, body: JsonBody) -> Answer {
    delete(caller, id, body, ContainerKind::List).await
}
