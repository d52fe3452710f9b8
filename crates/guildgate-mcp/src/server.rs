//! The MCP server: tools from `guildgate_core::tools::tool_specs`, calls through
//! `guildgate_core::tools::build_call` and the REST client. A tool result carries the REST
//! body; a failure carries the same envelope with `isError` set.

use std::path::PathBuf;
use std::sync::Arc;

use guildgate_core::ErrorCode;
use guildgate_core::tools::{ToolContext, build_call, tool_specs};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::credential::{self, Credential};
use crate::rest::{Answer, RestClient, RetryPolicy, local_envelope};
use crate::{DEFAULT_BASE_URL, Error};

/// Where the server's token, guild and base URL come from.
#[derive(Debug, Clone, Default)]
pub struct McpConfig {
    /// `--base-url`; else the credential's; else [`DEFAULT_BASE_URL`].
    pub base_url: Option<String>,
    /// From `ARKANIS_TOKEN` or `GUILDGATE_TOKEN`; else the credential's.
    pub token: Option<String>,
    /// From `ARKANIS_GUILD_ID`; else the credential's; else the token's own guild.
    pub guild_id: Option<String>,
    /// The credential file (default: [`credential::default_path`]).
    pub credential_path: Option<PathBuf>,
    pub retry: RetryPolicy,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl McpConfig {
    /// The token and guild from the environment, the base URL from the flag.
    pub fn from_env(base_url: Option<String>) -> Self {
        Self {
            base_url,
            token: env("ARKANIS_TOKEN").or_else(|| env("GUILDGATE_TOKEN")),
            guild_id: env("ARKANIS_GUILD_ID"),
            credential_path: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// The guild and token id every call is scoped by.
#[derive(Debug, Clone, PartialEq)]
struct Identity {
    guild_id: String,
    token_id: String,
}

/// What is known before the first call: explicit values, or none.
#[derive(Debug, Default)]
struct Known {
    guild_id: Option<String>,
    token_id: Option<String>,
    resolved: Option<Identity>,
}

/// The MCP server's handler.
#[derive(Clone)]
pub struct GuildgateMcp {
    rest: RestClient,
    tools: Arc<Vec<Tool>>,
    known: Arc<Mutex<Known>>,
}

impl std::fmt::Debug for GuildgateMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuildgateMcp")
            .field("rest", &self.rest)
            .finish_non_exhaustive()
    }
}

/// The MCP tool list, one per `ToolSpec`, with its hints.
pub fn tools() -> Vec<Tool> {
    tool_specs()
        .into_iter()
        .map(|spec| {
            let schema: JsonObject = match spec.input_schema {
                Value::Object(schema) => schema,
                _ => JsonObject::new(),
            };
            let annotations = ToolAnnotations::with_title(spec.name.replace('_', " "))
                .read_only(spec.read_only)
                .destructive(spec.destructive)
                .idempotent(spec.idempotent)
                .open_world(false);
            Tool::new(spec.name, spec.description, schema).with_annotations(annotations)
        })
        .collect()
}

impl GuildgateMcp {
    /// Resolves the token, guild and base URL from `config` (reading the credential file
    /// when no token was given). Makes no request.
    pub fn from_config(config: McpConfig) -> Result<Self, Error> {
        let path = match config.credential_path {
            Some(path) => path,
            None => credential::default_path()?,
        };
        let (token, credential) = match config.token {
            Some(token) => (token, credential::load(&path).ok().flatten()),
            None => {
                let credential = credential::load(&path)?.ok_or_else(|| {
                    Error::Config(format!(
                        "no token: set ARKANIS_TOKEN, or pair first with `guildgate mcp pair --guild G --base-url URL` (no credential at {})",
                        path.display()
                    ))
                })?;
                (credential.token.clone(), Some(credential))
            }
        };
        let paired = credential
            .as_ref()
            .filter(|c| c.token == token)
            .map(|c: &Credential| (c.guild_id.clone(), c.token_id.clone()));
        let base_url = config
            .base_url
            .or_else(|| credential.map(|c| c.base_url))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let rest = RestClient::new(&base_url, &token, config.retry)?;
        let known = Known {
            guild_id: config
                .guild_id
                .or_else(|| paired.as_ref().map(|p| p.0.clone())),
            token_id: paired.map(|p| p.1),
            resolved: None,
        };
        Ok(Self {
            rest,
            tools: Arc::new(tools()),
            known: Arc::new(Mutex::new(known)),
        })
    }

    pub fn base_url(&self) -> &str {
        self.rest.base_url()
    }

    /// The guild and token id; asks `GET /api/api-tokens/current` for what is not known
    /// yet. On failure, the envelope to return to the caller.
    async fn identity(&self) -> Result<Identity, Answer> {
        self.identity_with(true).await
    }

    async fn identity_with(&self, retry: bool) -> Result<Identity, Answer> {
        let mut known = self.known.lock().await;
        if let Some(identity) = &known.resolved {
            return Ok(identity.clone());
        }
        if let (Some(guild_id), Some(token_id)) = (&known.guild_id, &known.token_id) {
            let identity = Identity {
                guild_id: guild_id.clone(),
                token_id: token_id.clone(),
            };
            known.resolved = Some(identity.clone());
            return Ok(identity);
        }
        let answer = self
            .rest
            .send_with("GET", "/api/api-tokens/current", None, retry)
            .await;
        if !answer.is_success() {
            return Err(answer);
        }
        let (Some(token_id), Some(own_guild)) =
            (answer.body["id"].as_str(), answer.body["guild_id"].as_str())
        else {
            return Err(Answer {
                body: local_envelope(
                    ErrorCode::InternalError,
                    "GET /api/api-tokens/current answered without id and guild_id",
                    None,
                ),
                ..answer
            });
        };
        let guild_id = match &known.guild_id {
            Some(guild) if guild != own_guild => {
                tracing::warn!(
                    configured = %guild,
                    token_guild = %own_guild,
                    "ARKANIS_GUILD_ID names another guild than the token's; calls will be refused"
                );
                guild.clone()
            }
            Some(guild) => guild.clone(),
            None => own_guild.to_owned(),
        };
        let identity = Identity {
            guild_id,
            token_id: token_id.to_owned(),
        };
        known.resolved = Some(identity.clone());
        Ok(identity)
    }

    /// Learns the identity now, in one attempt, so a bad token shows on stderr at startup;
    /// never fails (a tool call asks again, with retries).
    pub async fn warm_up(&self) {
        match self.identity_with(false).await {
            Ok(identity) => tracing::info!(
                guild_id = %identity.guild_id,
                token_id = %identity.token_id,
                base_url = self.base_url(),
                "guildgate MCP server ready"
            ),
            Err(answer) => tracing::warn!(
                base_url = self.base_url(),
                error = %answer.body["error"],
                "could not identify the token yet; tool calls will report the error"
            ),
        }
    }

    /// Runs one tool: validates and builds the call, sends it, shapes the result.
    pub async fn run_tool(&self, name: &str, args: &JsonObject) -> CallToolResult {
        let identity = match self.identity().await {
            Ok(identity) => identity,
            Err(answer) => return error_result(&answer.body, answer.attempts, None),
        };
        let ctx = ToolContext {
            guild_id: &identity.guild_id,
            token_id: &identity.token_id,
        };
        let call = match build_call(name, &ctx, args) {
            Ok(call) => call,
            Err(err) => {
                let envelope = local_envelope(err.code, &err.message, err.details.as_ref());
                return error_result(&envelope, 0, None);
            }
        };
        tracing::info!(tool = name, method = call.method, path = %call.path, "tool call");
        let answer = self
            .rest
            .send(call.method, &call.path, call.body.as_ref())
            .await;
        if answer.is_success() {
            success_result(answer.body)
        } else {
            error_result(&answer.body, answer.attempts, Some(&identity.token_id))
        }
    }
}

fn success_result(body: Value) -> CallToolResult {
    if body.is_object() {
        CallToolResult::structured(body)
    } else {
        CallToolResult::success(vec![ContentBlock::text(body.to_string())])
    }
}

/// The envelope as the result (text and structured content), `isError` set; for
/// `RE_AUTH_REQUIRED` a line telling the operator what to do, as a stop condition.
fn error_result(envelope: &Value, attempts: u32, token_id: Option<&str>) -> CallToolResult {
    let mut result = CallToolResult::structured_error(envelope.clone());
    let error = &envelope["error"];
    if error["code"] == ErrorCode::ReAuthRequired.as_str() {
        let url = error["details"]["reauth_url"]
            .as_str()
            .unwrap_or("the guild's dashboard (API & MCP, Re-auth tab)");
        let cli = token_id
            .map(|id| format!(" (or, on the server: guildgate admin reauth open --token-id {id})"))
            .unwrap_or_default();
        result.content.push(ContentBlock::text(format!(
            "STOP: this destructive action needs an open 15-minute re-auth window. Do not retry now. \
             Ask the operator to open the window at {url}{cli}, then call the tool again with the same arguments."
        )));
    } else if attempts > 1 {
        result.content.push(ContentBlock::text(format!(
            "guildgate still answered {} after {attempts} attempts; try again later.",
            error["code"].as_str().unwrap_or("an error")
        )));
    }
    result
}

impl ServerHandler for GuildgateMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("guildgate-mcp", env!("CARGO_PKG_VERSION"))
                    .with_title("guildgate"),
            )
            .with_instructions(
                "Moderation tools for one guild, through a scoped guildgate token. Destructive tools \
                 (destructiveHint) build their own confirmation; never pass _confirmation. A \
                 RE_AUTH_REQUIRED error is a stop condition: show its reauth_url to the operator and \
                 wait for them to open the window before calling again.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !self.tools.iter().any(|t| t.name == request.name) {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {}", request.name),
                None,
            ));
        }
        let args = request.arguments.unwrap_or_default();
        Ok(self.run_tool(&request.name, &args).await.into())
    }
}

/// Runs the MCP server on stdin/stdout until the client closes it. Logs go to stderr.
pub async fn serve_stdio(config: McpConfig) -> Result<(), Error> {
    let server = GuildgateMcp::from_config(config)?;
    // In the background: the client's handshake must not wait for guildgate.
    let warming = server.clone();
    tokio::spawn(async move { warming.warm_up().await });
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::Mcp(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| Error::Mcp(e.to_string()))?;
    Ok(())
}
