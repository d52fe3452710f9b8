//! The tasks surface's part of the storage interface.

use async_trait::async_trait;
use guildgate_core::clock::Millis;
use guildgate_core::tasks::{
    Comment, Container, Label, Role, Task, TaskStatus, TaskUser, TasksKey, Workspace,
    WorkspaceMember,
};

use crate::StoreResult;

/// Folders and lists share one shape; this says which table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerKind {
    Folder,
    List,
}

#[async_trait]
pub trait TaskReads: Send + Sync {
    async fn tasks_key_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<TasksKey>>;
    async fn tasks_keys_of_user(&self, user_id: i64) -> StoreResult<Vec<TasksKey>>;
    async fn tasks_key(&self, id: &str) -> StoreResult<Option<TasksKey>>;
    async fn task_user(&self, id: i64) -> StoreResult<Option<TaskUser>>;
    async fn task_user_by_email(&self, email: &str) -> StoreResult<Option<TaskUser>>;
    /// The user's workspaces, each with the user's role.
    async fn workspaces_of(&self, user_id: i64) -> StoreResult<Vec<Workspace>>;
    async fn workspace_for(
        &self,
        user_id: i64,
        workspace_id: i64,
    ) -> StoreResult<Option<Workspace>>;
    async fn workspace_members(&self, workspace_id: i64) -> StoreResult<Vec<WorkspaceMember>>;
    /// Ordered by position.
    async fn statuses(&self, workspace_id: i64) -> StoreResult<Vec<TaskStatus>>;
    /// Ordered by name.
    async fn labels(&self, workspace_id: i64) -> StoreResult<Vec<Label>>;
    async fn containers(
        &self,
        kind: ContainerKind,
        workspace_id: i64,
    ) -> StoreResult<Vec<Container>>;
    async fn container(&self, kind: ContainerKind, id: i64) -> StoreResult<Option<Container>>;
    /// One page of top-level tasks, newest first, and the total count.
    async fn tasks_page(
        &self,
        workspace_id: i64,
        list_id: Option<i64>,
        offset: u32,
        limit: u32,
    ) -> StoreResult<(Vec<Task>, u64)>;
    /// The live subtasks of the given parents, oldest first.
    async fn subtasks_of(&self, parent_ids: &[i64]) -> StoreResult<Vec<Task>>;
    async fn task(&self, id: i64) -> StoreResult<Option<Task>>;
    async fn comments(&self, task_id: i64) -> StoreResult<Vec<Comment>>;
}

/// A new task's fields; the identifier and timestamps are assigned on insert.
#[derive(Clone, Debug)]
pub struct NewTask {
    pub workspace_id: i64,
    pub list_id: i64,
    pub parent_id: Option<i64>,
    pub title: String,
    pub description: Option<String>,
    pub priority: String,
    pub status_id: Option<i64>,
    pub due_date: Option<Millis>,
    pub start_date: Option<Millis>,
    pub creator_id: i64,
    pub assignee_ids: Vec<i64>,
    pub label_ids: Vec<i64>,
    pub custom_fields: serde_json::Value,
}

#[async_trait]
pub trait TaskWrites: Send {
    async fn insert_task_user(&mut self, email: &str, name: &str, now: Millis) -> StoreResult<i64>;
    /// Creates the workspace with its owner as a member and the four default statuses.
    async fn insert_workspace(
        &mut self,
        name: &str,
        slug: &str,
        owner_id: i64,
        now: Millis,
    ) -> StoreResult<i64>;
    async fn upsert_workspace_member(
        &mut self,
        workspace_id: i64,
        user_id: i64,
        role: Role,
        now: Millis,
    ) -> StoreResult<()>;
    /// Appends a status after the workspace's last.
    async fn insert_status(
        &mut self,
        workspace_id: i64,
        name: &str,
        category: &str,
        icon: Option<&str>,
        color: &str,
        now: Millis,
    ) -> StoreResult<TaskStatus>;
    async fn insert_label(
        &mut self,
        workspace_id: i64,
        name: &str,
        color: &str,
        now: Millis,
    ) -> StoreResult<Label>;
    async fn insert_container(&mut self, kind: ContainerKind, c: &Container) -> StoreResult<i64>;
    async fn update_container(&mut self, kind: ContainerKind, c: &Container) -> StoreResult<()>;
    /// Soft-deletes the container, and for a folder its lists; for both, their tasks.
    async fn delete_container(
        &mut self,
        kind: ContainerKind,
        id: i64,
        now: Millis,
    ) -> StoreResult<()>;
    /// Returns the new task's id and its per-workspace identifier.
    async fn insert_task(&mut self, task: &NewTask, now: Millis) -> StoreResult<(i64, i64)>;
    async fn update_task(&mut self, task: &Task) -> StoreResult<()>;
    async fn delete_task(&mut self, id: i64, now: Millis) -> StoreResult<()>;
    async fn insert_comment(
        &mut self,
        task_id: i64,
        user_id: i64,
        content: &str,
        now: Millis,
    ) -> StoreResult<i64>;
    async fn insert_tasks_key(&mut self, key: &TasksKey, secret_hash: &[u8]) -> StoreResult<()>;
    async fn revoke_tasks_key(&mut self, id: &str, now: Millis) -> StoreResult<bool>;
}
