use std::collections::HashMap;

use axum::extract::Query;
use axum::http::{StatusCode, Uri};
use guildgate_core::tasks::{Task, Workspace, parse_priority, parse_task_date};
use guildgate_storage::{ContainerKind, NewTask, Store};
use serde_json::{Value, json};

use super::{PathId, ok};
use crate::admit;
use crate::body::JsonBody;
use crate::caller::Caller;
use crate::error::{Answer, TasksError};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;
const MAX_TITLE: usize = 500;
const MAX_DESCRIPTION: usize = 100_000;

fn positive(query: &HashMap<String, String>, name: &str, default: u32) -> Result<u32, TasksError> {
    let Some(value) = query.get(name) else {
        return Ok(default);
    };
    let digits = value.strip_prefix('+').unwrap_or(value);
    let whole = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    // A number too large for the counter is still a positive integer: it reads as the
    // largest (a limit is then capped, a page is past the end).
    whole
        .then(|| digits.parse::<u32>().unwrap_or(u32::MAX))
        .filter(|n| *n > 0)
        .ok_or_else(|| TasksError::bad_request(format!("{name} must be a positive integer")))
}

pub async fn list_tasks(caller: Caller, id: PathId, uri: Uri) -> Answer {
    let query = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map_err(|_| TasksError::bad_request("Invalid query string"))?
        .0;
    let workspace_id = id.parse("Invalid workspace ID")?;
    let page = positive(&query, "page", 1)?;
    // Larger pages are served at the maximum, not refused.
    let limit = positive(&query, "limit", DEFAULT_LIMIT)?.min(MAX_LIMIT);
    let list_id = match query.get("list_id").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(crate::body::path_id(
            v,
            "list_id must be a valid numeric ID",
        )?),
    };
    let workspace = caller.workspace(workspace_id, "Workspace").await?;
    let store = &caller.state.store;
    let offset = (page - 1).saturating_mul(limit);
    let (tasks, total) = store
        .tasks_page(workspace.id, list_id, offset, limit)
        .await?;
    let parents: Vec<i64> = tasks.iter().map(|t| t.id).collect();
    let subtasks = store.subtasks_of(&parents).await?;
    let data: Vec<Value> = tasks
        .into_iter()
        .map(|task| {
            let children: Vec<&Task> = subtasks
                .iter()
                .filter(|s| s.parent_id == Some(task.id))
                .collect();
            let mut value = summary(task);
            value["subtasks"] = json!(
                children
                    .into_iter()
                    .cloned()
                    .map(summary)
                    .collect::<Vec<_>>()
            );
            value
        })
        .collect();
    Ok(ok(&json!({
        "data": data,
        "page": page,
        "limit": limit,
        "total": total,
        "total_pages": total.div_ceil(u64::from(limit)),
    })))
}

/// A task in a list: without its description.
fn summary(mut task: Task) -> Value {
    task.description = None;
    json!(task)
}

/// `GET /tasks/{id}`'s shape: the task with its description, labels, subtasks,
/// attachments and custom fields.
async fn detail(store: &dyn Store, task: Task) -> Result<Value, TasksError> {
    let labels: Vec<_> = store
        .labels(task.workspace_id)
        .await?
        .into_iter()
        .filter(|l| task.label_ids.contains(&l.id))
        .collect();
    let subtasks: Vec<Value> = store
        .subtasks_of(&[task.id])
        .await?
        .into_iter()
        .map(summary)
        .collect();
    let custom_fields = task.custom_fields.clone();
    let description = task.description.clone();
    let mut value = json!(task);
    value["description"] = json!(description);
    value["labels"] = json!(labels);
    value["subtasks"] = json!(subtasks);
    value["attachments"] = json!([]);
    value["custom_fields"] = custom_fields;
    Ok(value)
}

/// The task, when the caller can see its workspace (otherwise 404, as if absent).
async fn visible(caller: &Caller, id: &PathId) -> Result<(Task, Workspace), TasksError> {
    let id = id.parse("Invalid task ID")?;
    caller.set_target(id);
    let task = caller
        .state
        .store
        .task(id)
        .await?
        .ok_or_else(|| TasksError::not_found("Task"))?;
    let workspace = caller.workspace(task.workspace_id, "Task").await?;
    Ok((task, workspace))
}

pub async fn get_task(caller: Caller, id: PathId) -> Answer {
    let (task, _) = visible(&caller, &id).await?;
    Ok(ok(&detail(&*caller.state.store, task).await?))
}

/// The fields a create or an update may carry, read and checked against the workspace.
struct Fields {
    title: Option<String>,
    description: Option<Option<String>>,
    priority: Option<&'static str>,
    status_id: Option<Option<i64>>,
    due_date: Option<Option<i64>>,
    start_date: Option<Option<i64>>,
    assignee_ids: Option<Vec<i64>>,
    label_ids: Option<Vec<i64>>,
    custom_fields: Option<Value>,
}

fn date(body: &JsonBody, name: &str) -> Result<Option<Option<i64>>, TasksError> {
    if !body.has(name) {
        return Ok(None);
    }
    match body.value(name) {
        None => Ok(Some(None)),
        Some(Value::String(s)) => parse_task_date(name, s)
            .map(|d| Some(Some(d)))
            .map_err(TasksError::bad_request),
        Some(_) => Err(TasksError::bad_request(
            parse_task_date(name, "").unwrap_err(),
        )),
    }
}

fn read_fields(body: &JsonBody) -> Result<Fields, TasksError> {
    let title = if body.has("title") {
        match body.value("title") {
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Err(TasksError::bad_request("title cannot be empty"));
            }
            None => return Err(TasksError::bad_request("title cannot be empty")),
            _ => body.text("title", MAX_TITLE)?,
        }
    } else {
        None
    };
    let description = if body.has("description") {
        Some(
            body.text("description", MAX_DESCRIPTION)?
                .map(|html| ammonia::clean(&html)),
        )
    } else {
        None
    };
    let priority = match body.value("priority") {
        None => None,
        Some(Value::String(p)) => Some(parse_priority(p.trim()).map_err(TasksError::bad_request)?),
        Some(_) => return Err(TasksError::bad_request(parse_priority("").unwrap_err())),
    };
    let status_id = if body.has("status_id") {
        Some(body.id("status_id", "status_id must be a valid numeric ID")?)
    } else {
        None
    };
    let custom_fields = match body.value("custom_fields") {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err(TasksError::bad_request("custom_fields must be an object")),
    };
    Ok(Fields {
        title,
        description,
        priority,
        status_id,
        due_date: date(body, "due_date")?,
        start_date: date(body, "start_date")?,
        assignee_ids: body.ids("assignee_ids")?,
        label_ids: body.ids("label_ids")?,
        custom_fields,
    })
}

/// Ids given for a workspace must belong to it.
async fn check_refs(
    caller: &Caller,
    workspace: &Workspace,
    fields: &Fields,
) -> Result<(), TasksError> {
    let store = &caller.state.store;
    if let Some(Some(status_id)) = fields.status_id
        && !store
            .statuses(workspace.id)
            .await?
            .iter()
            .any(|s| s.id == status_id)
    {
        return Err(TasksError::bad_request(
            "status_id does not belong to this workspace",
        ));
    }
    if let Some(assignees) = &fields.assignee_ids {
        let members = store.workspace_members(workspace.id).await?;
        if !assignees
            .iter()
            .all(|a| members.iter().any(|m| m.user_id == *a))
        {
            return Err(TasksError::bad_request(
                "assignee_ids must be members of the workspace",
            ));
        }
    }
    if let Some(labels) = &fields.label_ids {
        let known = store.labels(workspace.id).await?;
        if !labels.iter().all(|l| known.iter().any(|k| k.id == *l)) {
            return Err(TasksError::bad_request(
                "label_ids must be labels of the workspace",
            ));
        }
    }
    Ok(())
}

/// A list the caller may put tasks in.
async fn list_of(caller: &Caller, list_id: i64) -> Result<Workspace, TasksError> {
    let list = caller
        .state
        .store
        .container(ContainerKind::List, list_id)
        .await?
        .ok_or_else(|| TasksError::not_found("List"))?;
    caller.workspace(list.workspace_id, "List").await
}

pub async fn create_task(caller: Caller, body: JsonBody) -> Answer {
    let list_id = body.required_id("list_id", "list_id must be a valid numeric ID")?;
    if !body.has("title") {
        return Err(TasksError::bad_request("title is required"));
    }
    let fields = read_fields(&body)?;
    let parent_id = body.id("parent_id", "parent_id must be a valid numeric ID")?;
    let workspace = list_of(&caller, list_id).await?;
    caller.require_write(&workspace)?;
    check_refs(&caller, &workspace, &fields).await?;
    if let Some(parent_id) = parent_id {
        match caller.state.store.task(parent_id).await? {
            Some(parent) if parent.workspace_id == workspace.id && parent.parent_id.is_none() => {}
            _ => return Err(TasksError::not_found("Parent task")),
        }
    }
    let status_id = match fields.status_id.flatten() {
        Some(id) => Some(id),
        None => caller
            .state
            .store
            .statuses(workspace.id)
            .await?
            .into_iter()
            .find(|s| s.category == "pending")
            .map(|s| s.id),
    };
    let new = NewTask {
        workspace_id: workspace.id,
        list_id,
        parent_id,
        title: fields.title.unwrap_or_default(),
        description: fields.description.flatten(),
        priority: fields.priority.unwrap_or("none").to_owned(),
        status_id,
        due_date: fields.due_date.flatten(),
        start_date: fields.start_date.flatten(),
        creator_id: caller.user_id(),
        assignee_ids: fields.assignee_ids.unwrap_or_default(),
        label_ids: fields.label_ids.unwrap_or_default(),
        custom_fields: fields.custom_fields.unwrap_or_else(|| json!({})),
    };
    let mut write = admit!(caller, &body.raw);
    let now = write.caller.now();
    let (id, identifier) = write.tx().insert_task(&new, now).await?;
    write.caller.set_target(id);
    let task = Task {
        id,
        workspace_id: new.workspace_id,
        list_id,
        parent_id,
        identifier,
        title: new.title,
        description: new.description,
        priority: new.priority,
        status_id: new.status_id,
        due_date: new.due_date,
        start_date: new.start_date,
        creator_id: new.creator_id,
        assignee_ids: new.assignee_ids,
        label_ids: new.label_ids,
        custom_fields: new.custom_fields,
        created_at: now,
        updated_at: now,
    };
    let answer = detail(&*write.caller.state.store, task).await?;
    write.finish(StatusCode::CREATED, &answer).await
}

pub async fn update_task(caller: Caller, id: PathId, body: JsonBody) -> Answer {
    let (mut task, workspace) = visible(&caller, &id).await?;
    caller.require_write(&workspace)?;
    let fields = read_fields(&body)?;
    check_refs(&caller, &workspace, &fields).await?;
    if let Some(list_id) = body.id("list_id", "list_id must be a valid numeric ID")? {
        if list_of(&caller, list_id).await?.id != workspace.id {
            return Err(TasksError::bad_request(
                "list_id must be a list of the same workspace",
            ));
        }
        task.list_id = list_id;
    }
    if let Some(title) = fields.title {
        task.title = title;
    }
    if let Some(description) = fields.description {
        task.description = description;
    }
    if let Some(priority) = fields.priority {
        task.priority = priority.to_owned();
    }
    if let Some(status_id) = fields.status_id {
        task.status_id = status_id;
    }
    if let Some(due) = fields.due_date {
        task.due_date = due;
    }
    if let Some(start) = fields.start_date {
        task.start_date = start;
    }
    if let Some(assignees) = fields.assignee_ids {
        task.assignee_ids = assignees;
    }
    if let Some(labels) = fields.label_ids {
        task.label_ids = labels;
    }
    if let Some(custom) = fields.custom_fields {
        task.custom_fields = custom;
    }
    let mut write = admit!(caller, &body.raw);
    task.updated_at = write.caller.now();
    write.tx().update_task(&task).await?;
    let answer = detail(&*write.caller.state.store, task).await?;
    write.finish(StatusCode::OK, &answer).await
}

pub async fn delete_task(caller: Caller, id: PathId, body: JsonBody) -> Answer {
    id.parse("Invalid task ID")?;
    // Admitted first, so a retried DELETE replays its saved answer instead of a 404.
    let mut write = admit!(caller, &body.raw);
    let (task, workspace) = visible(&write.caller, &id).await?;
    write.caller.require_write(&workspace)?;
    let now = write.caller.now();
    write.tx().delete_task(task.id, now).await?;
    write
        .finish(StatusCode::OK, &json!({ "id": task.id, "deleted": true }))
        .await
}
