//! The tasks surface's storage on SQL (shared by the SQL backends).

use async_trait::async_trait;
use guildgate_core::clock::Millis;
use guildgate_core::tasks::{
    Comment, Container, Label, Role, Task, TaskStatus, TaskUser, TasksKey, Workspace,
    WorkspaceMember,
};
use sqlx::Row;

use super::Backend;
use super::task_rows::*;
use super::write_tx::BackendTx;
use crate::{ContainerKind, NewTask, StoreResult, TaskReads, TaskWrites};

const WORKSPACE_WITH_ROLE: &str = "SELECT w.*, m.role FROM workspaces w \
    JOIN workspace_members m ON m.workspace_id = w.id AND m.user_id = $1";

#[async_trait]
impl TaskReads for Backend {
    async fn tasks_key_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<TasksKey>> {
        let row = sqlx::query("SELECT * FROM tasks_api_keys WHERE secret_hash = $1")
            .bind(secret_hash)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(key_row).transpose()
    }

    async fn tasks_keys_of_user(&self, user_id: i64) -> StoreResult<Vec<TasksKey>> {
        let rows = sqlx::query("SELECT * FROM tasks_api_keys WHERE user_id = $1 ORDER BY id")
            .bind(user_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(key_row).collect()
    }

    async fn tasks_key(&self, id: &str) -> StoreResult<Option<TasksKey>> {
        let row = sqlx::query("SELECT * FROM tasks_api_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(key_row).transpose()
    }

    async fn task_user(&self, id: i64) -> StoreResult<Option<TaskUser>> {
        let row = sqlx::query("SELECT * FROM task_users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn task_user_by_email(&self, email: &str) -> StoreResult<Option<TaskUser>> {
        let row = sqlx::query("SELECT * FROM task_users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn workspaces_of(&self, user_id: i64) -> StoreResult<Vec<Workspace>> {
        let rows = sqlx::query(&format!("{WORKSPACE_WITH_ROLE} ORDER BY w.id"))
            .bind(user_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(workspace_row).collect()
    }

    async fn workspace_for(
        &self,
        user_id: i64,
        workspace_id: i64,
    ) -> StoreResult<Option<Workspace>> {
        let row = sqlx::query(&format!("{WORKSPACE_WITH_ROLE} WHERE w.id = $2"))
            .bind(user_id)
            .bind(workspace_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(workspace_row).transpose()
    }

    async fn workspace_members(&self, workspace_id: i64) -> StoreResult<Vec<WorkspaceMember>> {
        let rows = sqlx::query(
            "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM workspace_members m \
             JOIN task_users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY m.user_id",
        )
        .bind(workspace_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WorkspaceMember {
                    user_id: row.try_get("user_id")?,
                    email: row.try_get("email")?,
                    name: row.try_get("name")?,
                    role: role(row)?,
                    joined_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn statuses(&self, workspace_id: i64) -> StoreResult<Vec<TaskStatus>> {
        let rows = sqlx::query(
            "SELECT * FROM task_statuses WHERE workspace_id = $1 ORDER BY position, id",
        )
        .bind(workspace_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(status_row).collect()
    }

    async fn labels(&self, workspace_id: i64) -> StoreResult<Vec<Label>> {
        let rows =
            sqlx::query("SELECT * FROM task_labels WHERE workspace_id = $1 ORDER BY name, id")
                .bind(workspace_id)
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(label_row).collect()
    }

    async fn containers(
        &self,
        kind: ContainerKind,
        workspace_id: i64,
    ) -> StoreResult<Vec<Container>> {
        let sql = format!(
            "SELECT * FROM {} WHERE workspace_id = $1 AND deleted_at IS NULL ORDER BY id",
            table(kind)
        );
        let rows = sqlx::query(&sql)
            .bind(workspace_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(|r| container_row(kind, r)).collect()
    }

    async fn container(&self, kind: ContainerKind, id: i64) -> StoreResult<Option<Container>> {
        let sql = format!(
            "SELECT * FROM {} WHERE id = $1 AND deleted_at IS NULL",
            table(kind)
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(|r| container_row(kind, r)).transpose()
    }

    async fn tasks_page(
        &self,
        workspace_id: i64,
        list_id: Option<i64>,
        offset: u32,
        limit: u32,
    ) -> StoreResult<(Vec<Task>, u64)> {
        let filter = "workspace_id = $1 AND parent_id IS NULL AND deleted_at IS NULL \
                      AND ($2 IS NULL OR list_id = $2)";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM tasks WHERE {filter}"))
            .bind(workspace_id)
            .bind(list_id)
            .fetch_one(&self.reader)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM tasks WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(workspace_id)
        .bind(list_id)
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.reader)
        .await?;
        Ok((
            rows.iter().map(task_row).collect::<StoreResult<_>>()?,
            total as u64,
        ))
    }

    async fn subtasks_of(&self, parent_ids: &[i64]) -> StoreResult<Vec<Task>> {
        if parent_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=parent_ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT * FROM tasks WHERE deleted_at IS NULL AND parent_id IN ({}) ORDER BY id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in parent_ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.reader).await?;
        rows.iter().map(task_row).collect()
    }

    async fn task(&self, id: i64) -> StoreResult<Option<Task>> {
        let row = sqlx::query("SELECT * FROM tasks WHERE id = $1 AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(task_row).transpose()
    }

    async fn comments(&self, task_id: i64) -> StoreResult<Vec<Comment>> {
        let rows = sqlx::query("SELECT * FROM task_comments WHERE task_id = $1 ORDER BY id")
            .bind(task_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Comment {
                    id: row.try_get("id")?,
                    task_id: row.try_get("task_id")?,
                    user_id: row.try_get("user_id")?,
                    content: row.try_get("content")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// Statuses every new workspace starts with: (name, category, color).
const DEFAULT_STATUSES: [(&str, &str, &str); 4] = [
    ("To Do", "pending", "gray"),
    ("In Progress", "in_progress", "blue"),
    ("Done", "completed", "green"),
    ("Cancelled", "cancelled", "red"),
];

#[async_trait]
impl TaskWrites for BackendTx {
    async fn insert_task_user(&mut self, email: &str, name: &str, now: Millis) -> StoreResult<i64> {
        let done = sqlx::query(
            "INSERT INTO task_users (email, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(email)
        .bind(name)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(done.try_get::<i64, _>(0)?)
    }

    async fn insert_workspace(
        &mut self,
        name: &str,
        slug: &str,
        owner_id: i64,
        now: Millis,
    ) -> StoreResult<i64> {
        let id = sqlx::query(
            "INSERT INTO workspaces (name, slug, owner_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(slug)
        .bind(owner_id)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?
        .try_get::<i64, _>(0)?;
        self.upsert_workspace_member(id, owner_id, Role::Owner, now)
            .await?;
        for (name, category, color) in DEFAULT_STATUSES {
            self.insert_status(id, name, category, None, color, now)
                .await?;
        }
        Ok(id)
    }

    async fn upsert_workspace_member(
        &mut self,
        workspace_id: i64,
        user_id: i64,
        role: Role,
        now: Millis,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(workspace_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_status(
        &mut self,
        workspace_id: i64,
        name: &str,
        category: &str,
        icon: Option<&str>,
        color: &str,
        now: Millis,
    ) -> StoreResult<TaskStatus> {
        let position: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM task_statuses WHERE workspace_id = $1",
        )
        .bind(workspace_id)
        .fetch_one(&mut *self.tx)
        .await?;
        let id = sqlx::query(
            "INSERT INTO task_statuses (workspace_id, name, category, icon, color, position, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(workspace_id)
        .bind(name)
        .bind(category)
        .bind(icon)
        .bind(color)
        .bind(position)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?
        .try_get::<i64, _>(0)?;
        Ok(TaskStatus {
            id,
            workspace_id,
            name: name.to_owned(),
            category: category.to_owned(),
            icon: icon.map(str::to_owned),
            color: color.to_owned(),
            position,
            created_at: now,
        })
    }

    async fn insert_label(
        &mut self,
        workspace_id: i64,
        name: &str,
        color: &str,
        now: Millis,
    ) -> StoreResult<Label> {
        let id = sqlx::query("INSERT INTO task_labels (workspace_id, name, color, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(workspace_id)
            .bind(name)
            .bind(color)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?
            .try_get::<i64, _>(0)?;
        Ok(Label {
            id,
            workspace_id,
            name: name.to_owned(),
            color: color.to_owned(),
            created_at: now,
        })
    }

    async fn insert_container(&mut self, kind: ContainerKind, c: &Container) -> StoreResult<i64> {
        let done = match kind {
            ContainerKind::Folder => sqlx::query(
                "INSERT INTO task_folders (workspace_id, name, icon, color, created_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $5 WHERE $6 IS NULL RETURNING id",
            ),
            ContainerKind::List => sqlx::query(
                "INSERT INTO task_lists (workspace_id, name, icon, color, created_at, updated_at, folder_id) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id",
            ),
        }
        .bind(c.workspace_id)
        .bind(&c.name)
        .bind(&c.icon)
        .bind(&c.color)
        .bind(c.created_at)
        .bind(c.folder_id)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(done.try_get::<i64, _>(0)?)
    }

    async fn update_container(&mut self, kind: ContainerKind, c: &Container) -> StoreResult<()> {
        let sql = match kind {
            ContainerKind::Folder => {
                "UPDATE task_folders SET name = $2, icon = $3, color = $4, updated_at = $5 WHERE id = $1 AND $6 IS NULL"
            }
            ContainerKind::List => {
                "UPDATE task_lists SET name = $2, icon = $3, color = $4, updated_at = $5, folder_id = $6 WHERE id = $1"
            }
        };
        sqlx::query(sql)
            .bind(c.id)
            .bind(&c.name)
            .bind(&c.icon)
            .bind(&c.color)
            .bind(c.updated_at)
            .bind(c.folder_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_container(
        &mut self,
        kind: ContainerKind,
        id: i64,
        now: Millis,
    ) -> StoreResult<()> {
        let statements: &[&str] = match kind {
            ContainerKind::Folder => &[
                "UPDATE tasks SET deleted_at = $2 WHERE deleted_at IS NULL AND list_id IN (SELECT id FROM task_lists WHERE folder_id = $1)",
                "UPDATE task_lists SET deleted_at = $2 WHERE deleted_at IS NULL AND folder_id = $1",
                "UPDATE task_folders SET deleted_at = $2 WHERE id = $1",
            ],
            ContainerKind::List => &[
                "UPDATE tasks SET deleted_at = $2 WHERE deleted_at IS NULL AND list_id = $1",
                "UPDATE task_lists SET deleted_at = $2 WHERE id = $1",
            ],
        };
        for sql in statements {
            sqlx::query(sql)
                .bind(id)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn insert_task(&mut self, t: &NewTask, now: Millis) -> StoreResult<(i64, i64)> {
        let identifier: i64 = sqlx::query_scalar(
            "UPDATE workspaces SET next_identifier = next_identifier + 1 WHERE id = $1 RETURNING next_identifier - 1",
        )
        .bind(t.workspace_id)
        .fetch_one(&mut *self.tx)
        .await?;
        let done = sqlx::query(
            "INSERT INTO tasks (workspace_id, list_id, parent_id, identifier, title, description, priority, \
             status_id, due_date, start_date, creator_id, assignee_ids, label_ids, custom_fields, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id",
        )
        .bind(t.workspace_id)
        .bind(t.list_id)
        .bind(t.parent_id)
        .bind(identifier)
        .bind(&t.title)
        .bind(&t.description)
        .bind(&t.priority)
        .bind(t.status_id)
        .bind(t.due_date)
        .bind(t.start_date)
        .bind(t.creator_id)
        .bind(serde_json::to_string(&t.assignee_ids).map_err(|_| bad("ids"))?)
        .bind(serde_json::to_string(&t.label_ids).map_err(|_| bad("ids"))?)
        .bind(t.custom_fields.to_string())
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok((done.try_get::<i64, _>(0)?, identifier))
    }

    async fn update_task(&mut self, t: &Task) -> StoreResult<()> {
        sqlx::query(
            "UPDATE tasks SET list_id = $2, parent_id = $3, title = $4, description = $5, priority = $6, \
             status_id = $7, due_date = $8, start_date = $9, assignee_ids = $10, label_ids = $11, \
             custom_fields = $12, updated_at = $13 WHERE id = $1",
        )
        .bind(t.id)
        .bind(t.list_id)
        .bind(t.parent_id)
        .bind(&t.title)
        .bind(&t.description)
        .bind(&t.priority)
        .bind(t.status_id)
        .bind(t.due_date)
        .bind(t.start_date)
        .bind(serde_json::to_string(&t.assignee_ids).map_err(|_| bad("ids"))?)
        .bind(serde_json::to_string(&t.label_ids).map_err(|_| bad("ids"))?)
        .bind(t.custom_fields.to_string())
        .bind(t.updated_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn delete_task(&mut self, id: i64, now: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE tasks SET deleted_at = $2 WHERE deleted_at IS NULL AND (id = $1 OR parent_id = $1)")
            .bind(id)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_comment(
        &mut self,
        task_id: i64,
        user_id: i64,
        content: &str,
        now: Millis,
    ) -> StoreResult<i64> {
        let done = sqlx::query("INSERT INTO task_comments (task_id, user_id, content, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(task_id)
            .bind(user_id)
            .bind(content)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(done.try_get::<i64, _>(0)?)
    }

    async fn insert_tasks_key(&mut self, key: &TasksKey, secret_hash: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tasks_api_keys (id, user_id, label, secret_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.id)
        .bind(key.user_id)
        .bind(&key.label)
        .bind(secret_hash)
        .bind(key.scopes.to_list())
        .bind(key.created_at)
        .bind(key.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn revoke_tasks_key(&mut self, id: &str, now: Millis) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE tasks_api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
