//! The shard surface's policy table: one row per route, read by the router, the scope
//! check, the rate limiter and `openapi.json`.

use super::Scope;

/// Which rate-limit bucket a route draws from besides the key's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteTier {
    /// The key's per-minute budget.
    Standard,
    /// ACARS broadcasts: also a tight per-shard budget.
    Acars,
    /// No key, a public token: limited per client address.
    Public,
    /// No key and nothing to protect (health, the OpenAPI document): not limited.
    Open,
}

impl RouteTier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Acars => "acars",
            Self::Public => "public",
            Self::Open => "open",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct ShardRoute {
    /// Stable name: the handler, the audit row's action and the OpenAPI operation id.
    pub name: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    /// `None`: no key (public, or authenticated another way).
    pub scope: Option<Scope>,
    pub tier: RouteTier,
    pub summary: &'static str,
}

/// A whole-number query parameter: `default` when absent, refused outside `min..=max`.
#[derive(Clone, Copy, Debug)]
pub struct NumberParam {
    pub name: &'static str,
    pub default: u32,
    pub min: u32,
    pub max: u32,
}

pub const AUDIT_LIMIT: NumberParam = NumberParam {
    name: "limit",
    default: 100,
    min: 1,
    max: 500,
};
pub const ARCHIVE_LIMIT: NumberParam = AUDIT_LIMIT;
pub const METRICS_SINCE_MINUTES: NumberParam = NumberParam {
    name: "sinceMinutes",
    default: 60,
    min: 1,
    max: 1440,
};
pub const PUBLIC_TOKEN_DAYS: NumberParam = NumberParam {
    name: "days",
    default: 30,
    min: 1,
    max: 365,
};

/// A query parameter a route reads, for its OpenAPI document.
#[derive(Clone, Copy, Debug)]
pub enum QueryParam {
    Number(&'static NumberParam),
    /// A text parameter; `repeatable` when it may be given more than once.
    Text {
        name: &'static str,
        repeatable: bool,
        description: &'static str,
    },
}

impl ShardRoute {
    pub fn write(&self) -> bool {
        self.method != "GET"
    }

    /// The query parameters the route reads (the embeds' `token` is their security
    /// scheme, not listed here).
    pub fn query_params(&self) -> &'static [QueryParam] {
        match self.name {
            "list_archive" => &[
                QueryParam::Text {
                    name: "q",
                    repeatable: false,
                    description: "Words searched for in names and notes",
                },
                QueryParam::Text {
                    name: "tag",
                    repeatable: true,
                    description: "A tag every entry listed must carry; repeat for several",
                },
                QueryParam::Number(&ARCHIVE_LIMIT),
            ],
            "audit" => &[QueryParam::Number(&AUDIT_LIMIT)],
            "metrics" => &[QueryParam::Number(&METRICS_SINCE_MINUTES)],
            "public_token" => &[QueryParam::Number(&PUBLIC_TOKEN_DAYS)],
            "stream" => &[QueryParam::Text {
                name: "lastEventId",
                repeatable: false,
                description: "Resume after this event id (as the Last-Event-ID header does)",
            }],
            _ => &[],
        }
    }

    /// Whether the route takes the public token (`?token=`) as its credential. The
    /// comms clients' socket is public to reach but authenticates in its first message.
    pub fn takes_public_token(&self) -> bool {
        self.tier == RouteTier::Public && self.name != "client_socket"
    }

    /// What a successful call answers with: JSON but for the event stream, the
    /// Prometheus scrape (classic text, or OpenMetrics when asked for) and the embeddable
    /// widget.
    pub fn media_types(&self) -> &'static [&'static str] {
        match self.name {
            "stream" => &["text/event-stream"],
            "metrics_prometheus" => &["text/plain", "application/openmetrics-text"],
            "embed_widget" => &["text/html"],
            _ => &["application/json"],
        }
    }
}

macro_rules! shard_routes {
    ($($name:literal, $method:literal, $path:literal, $scope:tt, $tier:ident, $summary:literal;)*) => {
        /// Every route of the shard Owner API.
        pub const SHARD_ROUTES: &[ShardRoute] = &[$(ShardRoute {
            name: $name,
            method: $method,
            path: $path,
            scope: shard_routes!(@scope $scope),
            tier: RouteTier::$tier,
            summary: $summary,
        }),*];
    };
    (@scope None) => { None };
    (@scope $scope:ident) => { Some(Scope::$scope) };
}

shard_routes! {
    "health", "GET", "/health", None, Open, "Liveness: {ok, app, version}.";
    "openapi", "GET", "/api/v1/openapi.json", None, Open, "This OpenAPI 3.1 document.";
    "status", "GET", "/api/v1/status", ReadStatus, Standard, "Guild status, operation state, features, public net, nets, occupancy and transmit state.";
    "get_assignments", "GET", "/api/v1/assignments", ReadAssignments, Standard, "The stored assignment map {userId: [netIds]}.";
    "get_features", "GET", "/api/v1/features", ReadStatus, Standard, "Feature toggles.";
    "get_public_net", "GET", "/api/v1/public-net", ReadStatus, Standard, "Public net visibility, name and role gates.";
    "assign", "POST", "/api/v1/assignments", WriteAssignments, Standard, "Assign or unassign one user on one net.";
    "assign_bulk", "POST", "/api/v1/assignments/bulk", WriteAssignments, Standard, "Up to 200 assignment actions, each with its own result.";
    "assign_temporary", "POST", "/api/v1/assignments/temporary", WriteAssignments, Standard, "Assign now; undone after ttlMs, expiresMinutes or minutes.";
    "create_net", "POST", "/api/v1/nets", WriteNets, Standard, "Create a net: numeric slot and persistent netUid.";
    "rename_net", "POST", "/api/v1/nets/rename", WriteNets, Standard, "Rename a net by netUid (or netId).";
    "delete_net", "DELETE", "/api/v1/nets/{ref}", WriteNets, Standard, "Archive and remove a net by netUid or netId.";
    "remove_net", "POST", "/api/v1/nets/remove", WriteNets, Standard, "Archive and remove a net named in the JSON body.";
    "list_archive", "GET", "/api/v1/archive", WriteArchive, Standard, "List or search the archive catalog (?q=, ?tag= repeatable, ?limit=).";
    "upsert_archive", "POST", "/api/v1/archive", WriteArchive, Standard, "Create or update an archived channel entry (a uid is minted when none is given).";
    "archive_sync_status", "GET", "/api/v1/archive/sync/status", WriteArchive, Standard, "Pending operation count and the catalog's checkpoint version and hash.";
    "get_archive", "GET", "/api/v1/archive/{uid}", WriteArchive, Standard, "Read one archived entry.";
    "update_archive", "POST", "/api/v1/archive/{uid}", WriteArchive, Standard, "Update an archived entry's name, notes, tags, assignments or relay targets.";
    "patch_archive", "PATCH", "/api/v1/archive/{uid}", WriteArchive, Standard, "Same as POST /api/v1/archive/{uid}.";
    "delete_archive", "DELETE", "/api/v1/archive/{uid}", WriteArchive, Standard, "Delete an archived entry for good.";
    "restore_archive", "POST", "/api/v1/archive/{uid}/restore", WriteArchive, Standard, "Restore into an active net: original uid, fresh slot, through central validation.";
    "set_operation", "POST", "/api/v1/operation", WriteOperation, Standard, "Open or close the operation.";
    "set_features", "POST", "/api/v1/features", ManageFeatures, Standard, "Update feature toggles.";
    "show_public_net", "POST", "/api/v1/public-net", ManageFeatures, Standard, "Show the public net, optionally with a name and role gates.";
    "show_public_net_alias", "POST", "/api/v1/public-net/show", ManageFeatures, Standard, "Same as POST /api/v1/public-net.";
    "hide_public_net", "POST", "/api/v1/public-net/hide", ManageFeatures, Standard, "Hide the public net, keeping its name and role gates.";
    "remove_public_net", "POST", "/api/v1/public-net/remove", ManageFeatures, Standard, "Hide the public net and reset its name and role gates.";
    "restore_public_net", "POST", "/api/v1/public-net/restore", ManageFeatures, Standard, "Show the public net again, optionally with a name and role gates.";
    "get_rules", "GET", "/api/v1/rules", ReadAssignments, Standard, "Role-to-net auto assignment rules.";
    "replace_rules", "POST", "/api/v1/rules", WriteRules, Standard, "Replace the role-to-net rules.";
    "stream", "GET", "/api/v1/stream", ReadEvents, Standard, "Server-sent events; resume with Last-Event-ID.";
    "list_webhooks", "GET", "/api/v1/webhooks", ReadEvents, Standard, "Registered webhooks and the supported event types (never secrets).";
    "create_webhook", "POST", "/api/v1/webhooks", ReadEvents, Standard, "Register a signed webhook; the secret is returned once.";
    "delete_webhook", "DELETE", "/api/v1/webhooks/{id}", ReadEvents, Standard, "Remove a webhook.";
    "public_token", "GET", "/api/v1/public-token", ReadStatus, Standard, "Signed read-only status and widget URLs for websites (?days=, 1 to 365, default 30).";
    "embed_status", "GET", "/api/v1/embed/status", None, Public, "Public read-only status JSON; needs ?token= from /public-token, no key.";
    "embed_widget", "GET", "/api/v1/embed/widget", None, Public, "Public HTML status card for org sites; needs ?token=.";
    "audit", "GET", "/api/v1/audit", ReadAudit, Standard, "Recent Owner API calls (?limit=, at most 500).";
    "roster", "GET", "/api/v1/roster", ReadRoster, Standard, "Connected operators: display name, nets, transport, transmit state, connected time (roleIds with read:roster:roles).";
    "disconnect_client", "POST", "/api/v1/clients/disconnect", WriteClients, Standard, "Disconnect every connection of {userId} with a control reason.";
    "acars", "POST", "/api/v1/acars", WriteAcars, Acars, "Broadcast an ACARS overlay alert to connected clients (premium shards; 2 at once, 6 a minute per shard).";
    "metrics", "GET", "/api/v1/metrics", ReadMetrics, Standard, "Uptime, connected users, talk time and occupancy samples of this process (?sinceMinutes=, 1 to 1440, default 60).";
    "metrics_prometheus", "GET", "/api/v1/metrics/prometheus", ReadMetrics, Standard, "The same figures in the Prometheus text format.";
    "list_ready_checks", "GET", "/api/v1/ready-checks", ReadReadyChecks, Standard, "Ready-check templates and the running session.";
    "save_ready_check", "POST", "/api/v1/ready-checks", WriteReadyChecks, Standard, "Create or replace a ready-check template {id?, name, message?, durationSeconds?}.";
    "delete_ready_check", "DELETE", "/api/v1/ready-checks/{id}", WriteReadyChecks, Standard, "Delete a ready-check template.";
    "start_ready_check", "POST", "/api/v1/ready-checks/start", WriteReadyChecks, Standard, "Start a session from {templateId}: connected operators answer ready, declined or afk.";
    "ready_check_status", "GET", "/api/v1/ready-checks/status", ReadReadyChecks, Standard, "The running session, else the latest finished one.";
    "ready_check_session", "GET", "/api/v1/ready-checks/status/{sessionId}", ReadReadyChecks, Standard, "One session with every answer and its summary.";
    "list_presets", "GET", "/api/v1/presets", WritePresets, Standard, "Saved operation presets.";
    "save_preset", "POST", "/api/v1/presets", WritePresets, Standard, "Create or replace a preset {name, nets, assignments, operationOpen?}.";
    "delete_preset", "DELETE", "/api/v1/presets/{name}", WritePresets, Standard, "Delete a preset by its (URL-encoded) name.";
    "apply_preset", "POST", "/api/v1/presets/{name}/apply", WritePresets, Standard, "Apply a preset's nets, assignments and operation state through central validation ({clearAssignments?, removeOtherNets?, operationOpen?}).";
    "list_uri_links", "GET", "/api/v1/uri-links", ReadUri, Standard, "Join links with their expiry, uses and status (never their tokens).";
    "create_uri_link", "POST", "/api/v1/uri-links", WriteUri, Standard, "Create a join link {action, name?, target?, expiresAt?|expiresMinutes?|expiresDays?, maxUses?}; the token is returned once.";
    "revoke_uri_link", "POST", "/api/v1/uri-links/revoke", WriteUri, Standard, "Revoke a join link {id}.";
    "resolve_uri_link", "POST", "/api/v1/uri-links/resolve", ReadUri, Standard, "Resolve a join link {id, token}: its action and target, counting one use.";
    "client_socket", "GET", "/ws", None, Public, "The comms clients' WebSocket: join with a gcli_ client token, then push-to-talk and live configuration.";
}
