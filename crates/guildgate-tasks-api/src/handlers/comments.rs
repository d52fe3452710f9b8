use axum::http::StatusCode;
use guildgate_core::tasks::Comment;

use super::{PathId, data};
use crate::admit;
use crate::body::JsonBody;
use crate::caller::Caller;
use crate::error::{Answer, TasksError};

async fn visible_task(
    caller: &Caller,
    id: &PathId,
) -> Result<(i64, guildgate_core::tasks::Workspace), TasksError> {
    let id = id.parse("Invalid task ID")?;
    caller.set_target(id);
    let task = caller
        .state
        .store
        .task(id)
        .await?
        .ok_or_else(|| TasksError::not_found("Task"))?;
    Ok((task.id, caller.workspace(task.workspace_id, "Task").await?))
}

pub async fn list_comments(caller: Caller, id: PathId) -> Answer {
    let (task_id, _) = visible_task(&caller, &id).await?;
    Ok(data(&caller.state.store.comments(task_id).await?))
}

pub async fn create_comment(caller: Caller, id: PathId, body: JsonBody) -> Answer {
    let content = body.required_text("content", 10_000)?;
    let (task_id, workspace) = visible_task(&caller, &id).await?;
    caller.require_write(&workspace)?;
    let mut write = admit!(caller, &body.raw);
    let now = write.caller.now();
    let user_id = write.caller.user_id();
    let id = write
        .tx()
        .insert_comment(task_id, user_id, &content, now)
        .await?;
    let comment = Comment {
        id,
        task_id,
        user_id,
        content,
        created_at: now,
    };
    write.finish(StatusCode::CREATED, &comment).await
}
