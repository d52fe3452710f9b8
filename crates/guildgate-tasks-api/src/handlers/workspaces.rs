use axum::http::StatusCode;
use guildgate_core::tasks::{Role, parse_status_category};

use super::{PathId, data, ok};
use crate::admit;
use crate::body::JsonBody;
use crate::caller::Caller;
use crate::error::{Answer, TasksError};

pub async fn get_me(caller: Caller) -> Answer {
    let user = caller
        .state
        .store
        .task_user(caller.user_id())
        .await?
        .ok_or_else(TasksError::internal)?;
    Ok(ok(&user))
}

pub async fn list_workspaces(caller: Caller) -> Answer {
    Ok(data(
        &caller.state.store.workspaces_of(caller.user_id()).await?,
    ))
}

pub async fn get_workspace(caller: Caller, id: PathId) -> Answer {
    let workspace = caller
        .workspace(id.parse("Invalid workspace ID")?, "Workspace")
        .await?;
    Ok(ok(&workspace))
}

pub async fn list_members(caller: Caller, id: PathId) -> Answer {
    let workspace = caller
        .workspace(id.parse("Invalid workspace ID")?, "Workspace")
        .await?;
    Ok(data(
        &caller.state.store.workspace_members(workspace.id).await?,
    ))
}

pub async fn list_statuses(caller: Caller, id: PathId) -> Answer {
    let workspace = caller
        .workspace(id.parse("Invalid workspace ID")?, "Workspace")
        .await?;
    Ok(data(&caller.state.store.statuses(workspace.id).await?))
}

pub async fn list_labels(caller: Caller, id: PathId) -> Answer {
    let workspace = caller
        .workspace(id.parse("Invalid workspace ID")?, "Workspace")
        .await?;
    Ok(data(&caller.state.store.labels(workspace.id).await?))
}

pub async fn create_status(caller: Caller, body: JsonBody) -> Answer {
    let workspace_id = body.required_id("workspace_id", "Invalid workspace ID")?;
    let name = body.required_text("name", 100)?;
    let category = body
        .text("category", 40)?
        .ok_or_else(|| TasksError::bad_request("category is required"))?;
    let category = parse_status_category(&category).map_err(TasksError::bad_request)?;
    let icon = body.text("icon", 100)?;
    let color = body.text("color", 40)?.unwrap_or_else(|| "gray".to_owned());
    let workspace = caller.workspace(workspace_id, "Workspace").await?;
    caller.require_role(
        &workspace,
        Role::can_manage_statuses,
        "Only workspace owners and admins can create statuses",
    )?;
    let mut write = admit!(caller, &body.raw);
    let now = write.caller.now();
    let status = write
        .tx()
        .insert_status(workspace.id, &name, category, icon.as_deref(), &color, now)
        .await?;
    write.caller.set_target(status.id);
    write.finish(StatusCode::CREATED, &status).await
}

pub async fn create_label(caller: Caller, body: JsonBody) -> Answer {
    let workspace_id = body.required_id("workspace_id", "Invalid workspace ID")?;
    let name = body.required_text("name", 100)?;
    let color = body.text("color", 40)?.unwrap_or_else(|| "gray".to_owned());
    let workspace = caller.workspace(workspace_id, "Workspace").await?;
    caller.require_write(&workspace)?;
    let mut write = admit!(caller, &body.raw);
    let now = write.caller.now();
    let label = write
        .tx()
        .insert_label(workspace.id, &name, &color, now)
        .await?;
    write.caller.set_target(label.id);
    write.finish(StatusCode::CREATED, &label).await
}
