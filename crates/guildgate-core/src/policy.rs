//! Policy as data: for every endpoint of the guild surface (and so every MCP tool), its
//! route, capability, rate-limit tier, whether it is destructive, and its sentinel.
//! The router, the guard, the limiter and the API reference all read this one table.

use crate::capability::Capability;
use crate::sentinel::SentinelTemplate;

/// Rate-limit tiers: each token holds one bucket per tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tier {
    Read,
    Reversible,
    Destructive,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Read, Tier::Reversible, Tier::Destructive];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Read => "read",
            Tier::Reversible => "reversible",
            Tier::Destructive => "destructive",
        }
    }
}

/// When an endpoint takes the destructive path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destructive {
    Never,
    Always,
    /// `POST /mutes`: destructive only when `duration_minutes` exceeds this.
    WhenDurationOverMinutes(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    ListStrikes,
    AddStrike,
    RemoveStrike,
    ListTickets,
    GetTicket,
    ClaimTicket,
    UnclaimTicket,
    ListBans,
    AddBan,
    RemoveBan,
    ListMutes,
    AddMute,
    LiftMute,
    MassPurge,
    ListServers,
    RunRcon,
    ListAudit,
    GetReauthWindow,
    OpenReauthWindow,
    CloseReauthWindow,
    TokenInfo,
    Status,
}

#[derive(Clone, Copy, Debug)]
pub struct EndpointPolicy {
    pub endpoint: Endpoint,
    /// Stable name: the audit row's action and the MCP tool's name.
    pub name: &'static str,
    pub method: &'static str,
    /// The route as axum writes it.
    pub path: &'static str,
    /// `None` for token-management routes that act on the caller's own token.
    pub capability: Option<Capability>,
    /// The tier when the call is not destructive.
    pub tier: Tier,
    pub destructive: Destructive,
    pub sentinel: Option<SentinelTemplate>,
    /// Offered as an MCP tool.
    pub mcp_tool: bool,
    pub summary: &'static str,
}

impl EndpointPolicy {
    /// Whether this call is destructive, given the mute duration where that decides it.
    pub fn is_destructive(&self, duration_minutes: Option<u32>) -> bool {
        match self.destructive {
            Destructive::Never => false,
            Destructive::Always => true,
            Destructive::WhenDurationOverMinutes(limit) => duration_minutes.unwrap_or(0) > limit,
        }
    }

    pub fn tier_for(&self, destructive: bool) -> Tier {
        if destructive {
            Tier::Destructive
        } else {
            self.tier
        }
    }

    pub fn is_public_surface(&self) -> bool {
        self.path.starts_with(PUBLIC_PREFIX)
    }
}

pub const PUBLIC_PREFIX: &str = "/api/public/v1";

const G: &str = "/api/public/v1/guilds/{guild_id}";

macro_rules! policy_table {
    ($($endpoint:ident, $name:literal, $method:literal, $path:expr, $cap:expr, $tier:ident,
       $destructive:expr, $sentinel:expr, $mcp:literal, $summary:literal;)*) => {
        /// The table. Order is the order of the API reference.
        pub const POLICIES: &[EndpointPolicy] = &[$(EndpointPolicy {
            endpoint: Endpoint::$endpoint,
            name: $name,
            method: $method,
            path: $path,
            capability: $cap,
            tier: Tier::$tier,
            destructive: $destructive,
            sentinel: $sentinel,
            mcp_tool: $mcp,
            summary: $summary,
        }),*];
    };
}

use Capability as C;
use Destructive::{Always, Never};

const fn s(template: &'static str) -> Option<SentinelTemplate> {
    Some(SentinelTemplate(template))
}

// The const paths must be literals for concat!, so the guild prefix is repeated here only.
policy_table! {
    ListStrikes, "list_strikes", "GET", concat!("/api/public/v1/guilds/{guild_id}", "/strikes"),
        Some(C::StrikesRead), Read, Never, None, true, "List strikes, newest first, paginated.";
    AddStrike, "add_strike", "POST", concat!("/api/public/v1/guilds/{guild_id}", "/strikes"),
        Some(C::StrikesWrite), Reversible, Always,
        s("ADD STRIKE TO USER {user_id} IN GUILD {guildId} SEVERITY {MINOR|MAJOR}"), true,
        "Add a strike to a user.";
    RemoveStrike, "remove_strike", "DELETE", concat!("/api/public/v1/guilds/{guild_id}", "/strikes/{strike_id}"),
        Some(C::StrikesWrite), Reversible, Always,
        s("REMOVE STRIKE {strikeId} IN GUILD {guildId}"), true, "Remove a strike.";
    ListTickets, "list_tickets", "GET", concat!("/api/public/v1/guilds/{guild_id}", "/tickets"),
        Some(C::TicketsRead), Read, Never, None, true, "List tickets, newest first, paginated.";
    GetTicket, "get_ticket", "GET", concat!("/api/public/v1/guilds/{guild_id}", "/tickets/{ticket_id}"),
        Some(C::TicketsRead), Read, Never, None, true, "Get one ticket.";
    ClaimTicket, "claim_ticket", "POST", concat!("/api/public/v1/guilds/{guild_id}", "/tickets/{ticket_id}/claim"),
        Some(C::TicketsWrite), Reversible, Never, None, true, "Claim a ticket for the token's issuer.";
    UnclaimTicket, "unclaim_ticket", "POST", concat!("/api/public/v1/guilds/{guild_id}", "/tickets/{ticket_id}/unclaim"),
        Some(C::TicketsWrite), Reversible, Never, None, true, "Release the issuer's claim on a ticket.";
    ListBans, "list_bans", "GET", concat!("/api/public/v1/guilds/{guild_id}", "/bans"),
        Some(C::BansRead), Read, Never, None, true, "List active bans, paginated.";
    AddBan, "ban_user", "POST", concat!("/api/public/v1/guilds/{guild_id}", "/bans"),
        Some(C::BansWrite), Reversible, Always,
        s("BAN USER {user_id} IN GUILD {guildId} {PERMANENT|DURATION N}"), true,
        "Ban a user permanently or for N minutes.";
    RemoveBan, "unban_user", "DELETE", concat!("/api/public/v1/guilds/{guild_id}", "/bans/{user_id}"),
        Some(C::BansWrite), Reversible, Always,
        s("UNBAN USER {userId} IN GUILD {guildId}"), true, "Lift a ban.";
    ListMutes, "list_mutes", "GET", concat!("/api/public/v1/guilds/{guild_id}", "/mutes"),
        Some(C::MutesRead), Read, Never, None, true, "List active mutes, paginated.";
    AddMute, "mute_user", "POST", concat!("/api/public/v1/guilds/{guild_id}", "/mutes"),
        Some(C::MutesWrite), Reversible, Destructive::WhenDurationOverMinutes(1440),
        s("MUTE USER {user_id} IN GUILD {guildId} DURATION {N}"), true,
        "Mute a user; destructive above 1440 minutes.";
    LiftMute, "lift_mute", "DELETE", concat!("/api/public/v1/guilds/{guild_id}", "/mutes/{user_id}"),
        Some(C::MutesWrite), Reversible, Always,
        s("LIFT MUTE FROM USER {userId} IN GUILD {guildId}"), true, "Lift a mute.";
    MassPurge, "mass_purge", "POST", concat!("/api/public/v1/guilds/{guild_id}", "/mass-purge"),
        Some(C::MessagesPurge), Reversible, Always,
        s("PURGE {count} MESSAGES IN CHANNEL {channel_id} IN GUILD {guildId}"), true,
        "Delete the most recent messages of a channel.";
    ListServers, "list_servers", "GET", concat!("/api/public/v1/guilds/{guild_id}", "/servers"),
        Some(C::ServersRead), Read, Never, None, true, "List the guild's game servers.";
    RunRcon, "run_rcon", "POST", concat!("/api/public/v1/guilds/{guild_id}", "/servers/{server_id}/rcon/run"),
        Some(C::RconRun), Reversible, Always,
        s("RUN RCON ON SERVER {serverId} IN GUILD {guildId}"), true, "Run an RCON command.";
    ListAudit, "list_audit", "GET", concat!("/api/public/v1/guilds/{guild_id}", "/audit"),
        Some(C::AuditRead), Read, Never, None, true, "Read the guild's audit log, newest first.";
    GetReauthWindow, "reauth_status", "GET", "/api/api-tokens/{token_id}/reauth-window",
        None, Read, Never, None, true, "Is a re-auth window open for this token?";
    OpenReauthWindow, "open_reauth_window", "POST", "/api/api-tokens/{token_id}/reauth-window",
        None, Reversible, Never, None, false, "Open a 15-minute re-auth window.";
    CloseReauthWindow, "close_reauth_window", "DELETE", "/api/api-tokens/{token_id}/reauth-window",
        None, Reversible, Never, None, false, "Close the token's re-auth window.";
    TokenInfo, "token_info", "GET", "/api/api-tokens/current",
        None, Read, Never, None, false, "The calling token: id, name, guild, effective capabilities.";
    Status, "status", "GET", "/api/public/v1/status",
        None, Read, Never, None, false, "Where actions go: Discord (or record-only) and RCON.";
}

/// The row for `endpoint`. Every `Endpoint` has exactly one (tested).
pub fn policy(endpoint: Endpoint) -> &'static EndpointPolicy {
    POLICIES
        .iter()
        .find(|p| p.endpoint == endpoint)
        .expect("every endpoint has a policy row")
}

/// The guild prefix every guild-scoped path starts with.
pub const GUILD_PREFIX: &str = G;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_consistent() {
        let mut names = std::collections::HashSet::new();
        for p in POLICIES {
            assert!(names.insert(p.name), "duplicate name {}", p.name);
            assert_eq!(
                p.sentinel.is_some(),
                p.destructive != Never,
                "{}: destructive endpoints and only they have a sentinel",
                p.name
            );
            assert!(
                p.path.starts_with(GUILD_PREFIX)
                    || p.path.starts_with("/api/api-tokens/")
                    || p.path == "/api/public/v1/status"
            );
            assert_eq!(policy(p.endpoint).name, p.name);
        }
        let destructive = POLICIES.iter().filter(|p| p.destructive != Never).count();
        assert_eq!(
            destructive, 8,
            "the spec lists eight destructive operations"
        );
    }

    #[test]
    fn mutes_are_destructive_only_above_a_day() {
        let mute = policy(Endpoint::AddMute);
        assert!(!mute.is_destructive(Some(1440)));
        assert!(mute.is_destructive(Some(1441)));
        assert_eq!(
            mute.tier_for(mute.is_destructive(Some(60))),
            Tier::Reversible
        );
        assert!(policy(Endpoint::AddStrike).is_destructive(None));
    }
}
