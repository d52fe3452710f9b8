//! The rules for minting a token, shared by the admin CLI and the dashboard.

use crate::capability::CapabilitySet;
use crate::clock::Millis;
use crate::error::{ApiError, ErrorCode};
use crate::model::{Guild, GuildTier, Member};

/// Checks a mint request and returns the snapshot to store: the requested set, or the
/// issuer's whole set when none was asked for. The snapshot can never exceed the issuer's.
pub fn mint_snapshot(
    guild: &Guild,
    issuer: Option<&Member>,
    requested: Option<CapabilitySet>,
    expires_at: Option<Millis>,
    now: Millis,
) -> Result<CapabilitySet, ApiError> {
    if guild.tier != GuildTier::Pro {
        return Err(ApiError::new(
            ErrorCode::FeatureNotEnabled,
            "Only a guild on the pro tier can have API tokens.",
        ));
    }
    let issuer = issuer.ok_or_else(|| {
        ApiError::forbidden(
            "Only members of the guild can issue tokens; add the user as a member first.",
        )
    })?;
    if expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::validation(
            "expires_at",
            "expires_at must be in the future",
        ));
    }
    let snapshot = requested.unwrap_or(issuer.capabilities);
    let beyond = snapshot.minus(issuer.capabilities);
    if beyond != CapabilitySet::EMPTY {
        return Err(ApiError::new(
            ErrorCode::CapabilityDenied,
            format!(
                "A token cannot hold capabilities its issuer lacks: {}.",
                beyond.names().join(", ")
            ),
        )
        .with_detail("missing", beyond.names()));
    }
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guild(tier: GuildTier) -> Guild {
        Guild {
            id: "1".into(),
            name: "g".into(),
            owner_id: "2".into(),
            tier,
            mcp_enabled: false,
            created_at: 0,
        }
    }

    fn member(caps: &str) -> Member {
        Member {
            guild_id: "1".into(),
            user_id: "2".into(),
            capabilities: CapabilitySet::parse_list("c", caps).unwrap(),
            added_at: 0,
        }
    }

    #[test]
    fn snapshot_defaults_to_the_issuers_set_and_never_exceeds_it() {
        let m = member("strikes.read,strikes.write");
        let got = mint_snapshot(&guild(GuildTier::Pro), Some(&m), None, None, 0).unwrap();
        assert_eq!(got, m.capabilities);
        let wider = CapabilitySet::parse_list("c", "strikes.read,bans.write").unwrap();
        let err =
            mint_snapshot(&guild(GuildTier::Pro), Some(&m), Some(wider), None, 0).unwrap_err();
        assert_eq!(err.details.unwrap()["missing"][0], "bans.write");
    }

    #[test]
    fn only_pro_guilds_members_and_future_expiry() {
        let m = member("strikes.read");
        assert_eq!(
            mint_snapshot(&guild(GuildTier::Free), Some(&m), None, None, 0)
                .unwrap_err()
                .code,
            ErrorCode::FeatureNotEnabled
        );
        assert_eq!(
            mint_snapshot(&guild(GuildTier::Pro), None, None, None, 0)
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            mint_snapshot(&guild(GuildTier::Pro), Some(&m), None, Some(5), 10)
                .unwrap_err()
                .code,
            ErrorCode::ValidationFailed
        );
    }
}
