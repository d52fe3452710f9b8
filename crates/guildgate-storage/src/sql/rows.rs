//! Row <-> model mapping (shared by the SQL backends).

use super::DbRow;
use guildgate_core::audit::ActorSource;
use guildgate_core::capability::CapabilitySet;
use guildgate_core::model::{
    AuditRow, Ban, GameServer, Guild, GuildTier, Member, Mute, ReauthWindow, Severity, Strike,
    Ticket, TokenAuth, TokenRecord,
};
use sqlx::Row;

use crate::{StoreError, StoreResult};

fn bad(what: &str) -> StoreError {
    StoreError::Internal(format!("stored {what} is not valid"))
}

fn caps(text: &str) -> StoreResult<CapabilitySet> {
    CapabilitySet::parse_list("capabilities", text).map_err(|_| bad("capability list"))
}

pub fn guild(row: &DbRow) -> StoreResult<Guild> {
    Ok(Guild {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner_id: row.try_get("owner_id")?,
        tier: GuildTier::parse(row.try_get("tier")?).ok_or_else(|| bad("tier"))?,
        mcp_enabled: row.try_get("mcp_enabled")?,
        created_at: row.try_get("created_at")?,
    })
}

pub fn member(row: &DbRow) -> StoreResult<Member> {
    Ok(Member {
        guild_id: row.try_get("guild_id")?,
        user_id: row.try_get("user_id")?,
        capabilities: caps(row.try_get("capabilities")?)?,
        added_at: row.try_get("added_at")?,
    })
}

pub const TOKEN_COLUMNS: &str = "t.id, t.guild_id, t.user_id, t.name, t.capabilities, \
    t.allowed_cidrs, t.allow_self_reauth, t.created_at, t.expires_at, t.revoked_at, \
    t.revoked_reason, t.last_used_at, t.last_used_ip, t.source, t.replaced_by";

pub fn token(row: &DbRow) -> StoreResult<TokenRecord> {
    let cidrs: String = row.try_get("allowed_cidrs")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        guild_id: row.try_get("guild_id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        capabilities: caps(row.try_get("capabilities")?)?,
        allowed_cidrs: cidrs
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| c.parse().map_err(|_| bad("CIDR")))
            .collect::<StoreResult<_>>()?,
        allow_self_reauth: row.try_get("allow_self_reauth")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoked_reason: row.try_get("revoked_reason")?,
        last_used_at: row.try_get("last_used_at")?,
        last_used_ip: row.try_get("last_used_ip")?,
        source: row.try_get("source")?,
        replaced_by: row.try_get("replaced_by")?,
    })
}

pub fn token_auth(row: &DbRow) -> StoreResult<TokenAuth> {
    let issuer: Option<String> = row.try_get("issuer_capabilities")?;
    Ok(TokenAuth {
        token: token(row)?,
        issuer_capabilities: issuer.as_deref().map(caps).transpose()?,
        guild_tier: GuildTier::parse(row.try_get("guild_tier")?).ok_or_else(|| bad("tier"))?,
        guild_mcp_enabled: row.try_get("guild_mcp_enabled")?,
    })
}

pub fn window(row: &DbRow) -> StoreResult<ReauthWindow> {
    Ok(ReauthWindow {
        window_id: row.try_get("id")?,
        token_id: row.try_get("token_id")?,
        opened_at: row.try_get("opened_at")?,
        expires_at: row.try_get("expires_at")?,
        opened_by: ActorSource::parse(row.try_get("opened_by")?).ok_or_else(|| bad("actor"))?,
    })
}

pub fn strike(row: &DbRow) -> StoreResult<Strike> {
    let id: String = row.try_get("id")?;
    let severity = Severity::parse(row.try_get("severity")?).ok_or_else(|| bad("severity"))?;
    Ok(Strike {
        strike_id: id.clone(),
        id,
        guild_id: row.try_get("guild_id")?,
        user_id: row.try_get("user_id")?,
        player_name: row.try_get("player_name")?,
        in_game_id: row.try_get("in_game_id")?,
        reason: row.try_get("reason")?,
        category: row.try_get("category")?,
        points: severity.points(),
        severity,
        issued_by: row.try_get("issued_by")?,
        token_id: row.try_get("token_id")?,
        issued_at: row.try_get("issued_at")?,
        removed_at: row.try_get("removed_at")?,
    })
}

pub fn ticket(row: &DbRow) -> StoreResult<Ticket> {
    Ok(Ticket {
        id: row.try_get("id")?,
        guild_id: row.try_get("guild_id")?,
        opened_by: row.try_get("opened_by")?,
        subject: row.try_get("subject")?,
        status: row.try_get("status")?,
        claimed_by: row.try_get("claimed_by")?,
        claimed_at: row.try_get("claimed_at")?,
        created_at: row.try_get("created_at")?,
    })
}

fn opt_u32(row: &DbRow, col: &str) -> StoreResult<Option<u32>> {
    let v: Option<i64> = row.try_get(col)?;
    v.map(|v| u32::try_from(v).map_err(|_| bad(col)))
        .transpose()
}

fn u32_of(row: &DbRow, col: &str) -> StoreResult<u32> {
    opt_u32(row, col)?.ok_or_else(|| bad(col))
}

pub fn ban(row: &DbRow) -> StoreResult<Ban> {
    Ok(Ban {
        id: row.try_get("id")?,
        guild_id: row.try_get("guild_id")?,
        user_id: row.try_get("user_id")?,
        reason: row.try_get("reason")?,
        duration_minutes: opt_u32(row, "duration_minutes")?,
        delete_message_seconds: u32_of(row, "delete_message_seconds")?,
        issued_by: row.try_get("issued_by")?,
        issued_at: row.try_get("issued_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub fn mute(row: &DbRow) -> StoreResult<Mute> {
    Ok(Mute {
        id: row.try_get("id")?,
        guild_id: row.try_get("guild_id")?,
        user_id: row.try_get("user_id")?,
        reason: row.try_get("reason")?,
        duration_minutes: u32_of(row, "duration_minutes")?,
        issued_by: row.try_get("issued_by")?,
        issued_at: row.try_get("issued_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub fn server(row: &DbRow) -> StoreResult<GameServer> {
    let port: i64 = row.try_get("port")?;
    Ok(GameServer {
        id: row.try_get("id")?,
        guild_id: row.try_get("guild_id")?,
        name: row.try_get("name")?,
        host: row.try_get("host")?,
        port: u16::try_from(port).map_err(|_| bad("port"))?,
        created_at: row.try_get("created_at")?,
    })
}

pub fn audit(row: &DbRow) -> StoreResult<AuditRow> {
    let status: Option<i64> = row.try_get("status")?;
    Ok(AuditRow {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        guild_id: row.try_get("guild_id")?,
        actor_source: row.try_get("actor_source")?,
        actor_user_id: row.try_get("actor_user_id")?,
        token_id: row.try_get("token_id")?,
        token_name: row.try_get("token_name")?,
        action: row.try_get("action")?,
        method: row.try_get("method")?,
        path: row.try_get("path")?,
        outcome: row.try_get("outcome")?,
        status: status.map(|s| s as u16),
        request_id: row.try_get("request_id")?,
        ip: row.try_get("ip")?,
        target: row.try_get("target")?,
    })
}

pub fn device_code(row: &DbRow) -> StoreResult<guildgate_core::device::DeviceCode> {
    use guildgate_core::device::{DeviceCode, DeviceStatus};
    let capabilities: Option<String> = row.try_get("capabilities")?;
    Ok(DeviceCode {
        user_code: row.try_get("user_code")?,
        guild_id: row.try_get("guild_id")?,
        client_name: row.try_get("client_name")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        interval_secs: row.try_get("interval_secs")?,
        last_polled_at: row.try_get("last_polled_at")?,
        status: DeviceStatus::parse(row.try_get("status")?).ok_or_else(|| bad("device status"))?,
        approved_by: row.try_get("approved_by")?,
        capabilities: capabilities.as_deref().map(caps).transpose()?,
    })
}

pub fn intent(row: &DbRow) -> StoreResult<guildgate_core::intent::Intent> {
    let action: String = row.try_get("action")?;
    Ok(guildgate_core::intent::Intent {
        id: row.try_get("id")?,
        action: serde_json::from_str(&action).map_err(|_| bad("intent action"))?,
        token_id: row.try_get("token_id")?,
        token_name: row.try_get("token_name")?,
        reason: row.try_get("reason")?,
        request_id: row.try_get("request_id")?,
        created_at: row.try_get("created_at")?,
    })
}
