//! `admin workspace ...` and `admin tasks-key ...`: seeding the tasks surface and its keys.

use clap::Subcommand;
use guildgate_core::audit::AuditEvent;
use guildgate_core::clock::to_rfc3339;
use guildgate_core::error::ApiError;
use guildgate_core::ids::is_ulid;
use guildgate_core::tasks::{Role, ScopeSet, TaskUser, TasksKey};
use guildgate_owner::{Owner, mint_tasks_key, revoke_tasks_key};
use serde_json::json;

use super::{AdminError, Ctx, Outcome, parse_time};

#[derive(Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace (and its owner's user when new), with the default statuses.
    Create {
        #[arg(long)]
        name: String,
        /// URL slug (default: from the name).
        #[arg(long)]
        slug: Option<String>,
        #[arg(long)]
        owner_email: String,
        #[arg(long)]
        owner_name: Option<String>,
    },
    /// Add a user (created when new) to a workspace, or change their role.
    AddMember {
        #[arg(long)]
        workspace: i64,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// viewer, member, admin or owner.
        #[arg(long, default_value = "member")]
        role: String,
    },
}

#[derive(Subcommand)]
pub enum TasksKeyCommand {
    /// Mint an arca_ key; printed once, stored only as a keyed hash.
    Mint {
        #[arg(long)]
        workspace: i64,
        #[arg(long)]
        label: String,
        /// Comma-separated, e.g. tasks:read,tasks:write. Fixed for the key's life.
        #[arg(long)]
        scopes: String,
        /// The key's user: an id or an email (default: the workspace's owner).
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List the keys of a workspace's members (never their secrets).
    List {
        #[arg(long)]
        workspace: i64,
    },
    Revoke {
        #[arg(long)]
        id: String,
    },
}

fn slugify(name: &str) -> String {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    slug.split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn valid_email(email: &str) -> Result<String, AdminError> {
    let email = email.trim().to_lowercase();
    match email.split_once('@') {
        Some((user, host))
            if !user.is_empty() && host.contains('.') && !email.contains(char::is_whitespace) =>
        {
            Ok(email)
        }
        _ => {
            Err(ApiError::validation("email", format!("{email:?} is not an email address")).into())
        }
    }
}

/// The user with `email`, created (in `tx`) when there is none.
async fn user_for(
    ctx: &Ctx,
    tx: &mut dyn guildgate_storage::WriteTx,
    email: &str,
    name: Option<&str>,
) -> Result<i64, AdminError> {
    if let Some(user) = ctx.store.task_user_by_email(email).await? {
        return Ok(user.id);
    }
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email));
    Ok(tx.insert_task_user(email, name, ctx.now).await?)
}

async fn resolve_user(ctx: &Ctx, user: &str) -> Result<TaskUser, AdminError> {
    let found = match user.parse::<i64>() {
        Ok(id) => ctx.store.task_user(id).await?,
        Err(_) => {
            ctx.store
                .task_user_by_email(&user.trim().to_lowercase())
                .await?
        }
    };
    found.ok_or_else(|| ApiError::not_found(&format!("User {user}")).into())
}

pub async fn workspace(ctx: &Ctx, command: WorkspaceCommand) -> Result<Outcome, AdminError> {
    match command {
        WorkspaceCommand::Create {
            name,
            slug,
            owner_email,
            owner_name,
        } => {
            let name = name.trim().to_owned();
            if name.is_empty() {
                return Err(ApiError::validation("name", "name is required").into());
            }
            let slug = slugify(slug.as_deref().unwrap_or(&name));
            if slug.is_empty() {
                return Err(ApiError::validation(
                    "slug",
                    "the slug needs at least one letter or digit",
                )
                .into());
            }
            let email = valid_email(&owner_email)?;
            let mut tx = ctx.store.begin().await?;
            let owner = user_for(ctx, &mut *tx, &email, owner_name.as_deref()).await?;
            let id = tx.insert_workspace(&name, &slug, owner, ctx.now).await?;
            let mut event = AuditEvent::cli(
                ctx.now,
                Some(&id.to_string()),
                "workspace.create",
                Some(&id.to_string()),
            );
            event.surface = "tasks";
            tx.append_audit(&event).await?;
            tx.commit().await?;
            Ok(Outcome {
                human: format!("created workspace {id} ({name}), owner user {owner}"),
                json: json!({ "id": id, "name": name, "slug": slug, "owner_id": owner }),
            })
        }
        WorkspaceCommand::AddMember {
            workspace,
            email,
            name,
            role,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                ApiError::validation("role", "role must be viewer, member, admin or owner")
            })?;
            let email = valid_email(&email)?;
            if ctx.store.workspace_members(workspace).await?.is_empty() {
                return Err(ApiError::not_found(&format!("Workspace {workspace}")).into());
            }
            let mut tx = ctx.store.begin().await?;
            let user = user_for(ctx, &mut *tx, &email, name.as_deref()).await?;
            tx.upsert_workspace_member(workspace, user, role, ctx.now)
                .await?;
            let mut event = AuditEvent::cli(
                ctx.now,
                Some(&workspace.to_string()),
                "workspace.add_member",
                Some(&user.to_string()),
            );
            event.surface = "tasks";
            tx.append_audit(&event).await?;
            tx.commit().await?;
            Ok(Outcome {
                human: format!(
                    "user {user} ({email}) is {} of workspace {workspace}",
                    role.as_str()
                ),
                json: json!({ "workspace_id": workspace, "user_id": user, "email": email, "role": role }),
            })
        }
    }
}

fn key_json(key: &TasksKey, now: i64) -> serde_json::Value {
    let status = if key.revoked_at.is_some() {
        "revoked"
    } else if key.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    };
    json!({
        "id": key.id,
        "user_id": key.user_id,
        "label": key.label,
        "scopes": key.scopes.names(),
        "created_at": to_rfc3339(key.created_at),
        "expires_at": key.expires_at.map(to_rfc3339),
        "status": status,
    })
}

pub async fn tasks_key(ctx: &Ctx, command: TasksKeyCommand) -> Result<Outcome, AdminError> {
    match command {
        TasksKeyCommand::Mint {
            workspace,
            label,
            scopes,
            user,
            expires_at,
        } => {
            let scopes =
                ScopeSet::parse_list(&scopes).map_err(|m| ApiError::validation("scopes", m))?;
            let expires_at = expires_at
                .map(|at| parse_time("expires-at", &at))
                .transpose()?;
            let members = ctx.store.workspace_members(workspace).await?;
            let user = match &user {
                Some(user) => resolve_user(ctx, user).await?.id,
                None => members
                    .iter()
                    .find(|m| m.role == Role::Owner)
                    .map(|m| m.user_id)
                    .ok_or_else(|| ApiError::not_found(&format!("Workspace {workspace}")))?,
            };
            if !members.iter().any(|m| m.user_id == user) {
                return Err(ApiError::forbidden(format!(
                    "user {user} is not a member of workspace {workspace}"
                ))
                .into());
            }
            let hasher = ctx.hasher()?;
            let owner = Owner {
                store: ctx.store.as_ref(),
                hasher: &hasher,
            };
            let (key, secret) = mint_tasks_key(
                owner,
                &ctx.actor(),
                user,
                Some(workspace),
                &label,
                scopes,
                expires_at,
            )
            .await?;
            let mut json = key_json(&key, ctx.now);
            json["key"] = json!(secret.expose());
            Ok(Outcome {
                human: format!(
                    "minted key {} ({}); copy it now, it is not shown again:\n{}",
                    key.id,
                    key.label,
                    secret.expose()
                ),
                json,
            })
        }
        TasksKeyCommand::List { workspace } => {
            let mut keys = Vec::new();
            for member in ctx.store.workspace_members(workspace).await? {
                keys.extend(ctx.store.tasks_keys_of_user(member.user_id).await?);
            }
            let lines: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}  user {}  {}  [{}]",
                        k.id,
                        k.user_id,
                        k.label,
                        k.scopes.to_list()
                    )
                })
                .collect();
            Ok(Outcome {
                human: if lines.is_empty() {
                    "no keys".to_owned()
                } else {
                    lines.join("\n")
                },
                json: json!({ "data": keys.iter().map(|k| key_json(k, ctx.now)).collect::<Vec<_>>() }),
            })
        }
        TasksKeyCommand::Revoke { id } => {
            if !is_ulid(&id) {
                return Err(ApiError::validation("id", "a key id is a 26-character ULID").into());
            }
            let key = ctx
                .store
                .tasks_key(&id)
                .await?
                .ok_or_else(|| ApiError::not_found(&format!("Key {id}")))?;
            let hasher = ctx.hasher()?;
            let owner = Owner {
                store: ctx.store.as_ref(),
                hasher: &hasher,
            };
            revoke_tasks_key(owner, &ctx.actor(), &key).await?;
            Ok(Outcome {
                human: format!("revoked {}", key.id),
                json: json!({ "id": key.id, "revoked": true }),
            })
        }
    }
}
