//! The authorization decisions of the guard pipeline, in the order the spec fixes:
//! token valid -> capability -> sentinel (422, see `sentinel::verify`) -> re-auth window (403). Rate limits sit
//! around these in the surface; the decisions themselves live here so every surface and
//! the MCP server get the same answers.

use std::net::IpAddr;

use crate::capability::{Capability, CapabilitySet};
use crate::clock::Millis;
use crate::error::{ApiError, ErrorCode};
use crate::model::{GuildTier, SOURCE_MCP, TokenAuth, TokenRecord};
use crate::net::ip_allowed;

/// A token that passed every check up to its capability.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token: TokenRecord,
    /// Snapshot at mint time ∩ the issuer's capabilities now.
    pub effective: CapabilitySet,
}

/// Checks a looked-up token: known, not revoked, not expired, called from an allowed
/// address, for its own guild (when the route names one).
pub fn authenticate(
    found: Option<TokenAuth>,
    now: Millis,
    client_ip: IpAddr,
    guild_id: Option<&str>,
) -> Result<Caller, ApiError> {
    let Some(found) = found else {
        return Err(ApiError::unauthorized(
            "The token is not recognised. Check that it was copied whole, or mint a new one.",
        ));
    };
    let token = found.token;
    if token.revoked_at.is_some() || found.guild_tier != GuildTier::Pro {
        return Err(ApiError::new(
            ErrorCode::TokenRevoked,
            "This token has been revoked.",
        ));
    }
    if token.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::new(
            ErrorCode::TokenExpired,
            "This token has expired. Rotate it from the dashboard.",
        ));
    }
    if token.source == SOURCE_MCP && !found.guild_mcp_enabled {
        return Err(ApiError::new(
            ErrorCode::FeatureNotEnabled,
            "MCP is not enabled for this guild. The owner turns it on with `guildgate admin guild set-feature --mcp on`.",
        ));
    }
    if !ip_allowed(&token.allowed_cidrs, client_ip) {
        return Err(ApiError::new(
            ErrorCode::TokenIpNotAllowed,
            format!("Caller IP {client_ip} is outside this token's CIDR allowlist."),
        ));
    }
    if let Some(guild_id) = guild_id
        && guild_id != token.guild_id
    {
        return Err(ApiError::forbidden("This token cannot act on that guild."));
    }
    let effective = token
        .capabilities
        .intersect(found.issuer_capabilities.unwrap_or_default());
    Ok(Caller { token, effective })
}

/// CAPABILITY_DENIED naming what is missing.
pub fn require(caller: &Caller, capability: Capability) -> Result<(), ApiError> {
    if caller.effective.contains(capability) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::CapabilityDenied,
        format!("Missing capability: {capability}."),
    )
    .with_detail("missing", vec![capability.as_str()]))
}

/// RE_AUTH_REQUIRED, pointing the operator at where the window is opened. Checked after
/// the sentinel, so a script corrects its sentinel before it asks anyone to approve.
pub fn reauth_required(reauth_url: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ReAuthRequired,
        "Re-authentication is required before running this operation.",
    )
    .with_detail("reauth_url", reauth_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(caps: &str) -> TokenAuth {
        TokenAuth {
            token: TokenRecord {
                id: "01HZTOK".into(),
                guild_id: "100000000000000000".into(),
                user_id: "583912000000000001".into(),
                name: "bot".into(),
                capabilities: CapabilitySet::parse_list("c", caps).unwrap(),
                allowed_cidrs: vec![],
                allow_self_reauth: false,
                created_at: 0,
                expires_at: Some(1_000),
                revoked_at: None,
                revoked_reason: None,
                last_used_at: None,
                last_used_ip: None,
                source: "cli".into(),
                replaced_by: None,
            },
            issuer_capabilities: Some(CapabilitySet::parse_list("c", "strikes.read").unwrap()),
            guild_tier: GuildTier::Pro,
            guild_mcp_enabled: false,
        }
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn effective_capabilities_are_the_intersection() {
        let caller = authenticate(Some(token("strikes.read,strikes.write")), 0, IP, None).unwrap();
        assert!(require(&caller, Capability::StrikesRead).is_ok());
        let err = require(&caller, Capability::StrikesWrite).unwrap_err();
        assert_eq!(err.code, ErrorCode::CapabilityDenied);
        assert_eq!(err.details.unwrap()["missing"][0], "strikes.write");
    }

    #[test]
    fn lifecycle_errors() {
        assert_eq!(
            authenticate(None, 0, IP, None).unwrap_err().code,
            ErrorCode::Unauthorized
        );
        let expired = authenticate(Some(token("")), 1_000, IP, None).unwrap_err();
        assert_eq!(expired.code, ErrorCode::TokenExpired);
        let mut revoked = token("");
        revoked.token.revoked_at = Some(5);
        assert_eq!(
            authenticate(Some(revoked), 0, IP, None).unwrap_err().code,
            ErrorCode::TokenRevoked
        );
        let other_guild = authenticate(Some(token("")), 0, IP, Some("200000000000000000"));
        assert_eq!(other_guild.unwrap_err().code, ErrorCode::Forbidden);
        let mut fenced = token("");
        fenced.token.allowed_cidrs = vec!["192.0.2.0/24".parse().unwrap()];
        assert_eq!(
            authenticate(Some(fenced), 0, IP, None).unwrap_err().code,
            ErrorCode::TokenIpNotAllowed
        );
    }

    #[test]
    fn mcp_tokens_need_the_feature() {
        let mut paired = token("strikes.read");
        paired.token.source = SOURCE_MCP.into();
        let err = authenticate(Some(paired.clone()), 0, IP, None).unwrap_err();
        assert_eq!(err.code, ErrorCode::FeatureNotEnabled);
        paired.guild_mcp_enabled = true;
        assert!(authenticate(Some(paired), 0, IP, None).is_ok());
    }

    #[test]
    fn reauth_required_points_at_the_dashboard() {
        let err = reauth_required("https://example.test/approve");
        assert_eq!(err.code, ErrorCode::ReAuthRequired);
        assert_eq!(
            err.details.unwrap()["reauth_url"],
            "https://example.test/approve"
        );
    }
}
