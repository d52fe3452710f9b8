//! Secrets a client put where they do not belong (a token pasted into a URL path) must not
//! travel on into error messages, logs or audit rows. Anything that starts like one of
//! guildgate's secrets is cut down to its prefix.

use std::borrow::Cow;

/// The prefixes of every secret guildgate issues or checks: guild tokens, tasks keys,
/// shard keys, comms client tokens, public embed tokens and webhook signing secrets.
pub const SECRET_PREFIXES: [&str; 6] = ["arkpat_", "arca_", "scok_", "gcli_", "gpub_", "whsec_"];

/// `text` with each run that starts with a secret prefix (up to the next `/`, `?`, `&`,
/// `=`, `,`, `;` or whitespace; a webhook secret's 44 base64 characters) replaced by the
/// prefix and `[redacted]`.
pub fn redact_secrets(text: &str) -> Cow<'_, str> {
    if !text.contains('_') || !SECRET_PREFIXES.iter().any(|p| text.contains(p)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, prefix)) = SECRET_PREFIXES
        .iter()
        .filter_map(|p| rest.find(p).map(|at| (at, *p)))
        .min()
    {
        out.push_str(&rest[..at + prefix.len()]);
        out.push_str("[redacted]");
        let after = &rest[at + prefix.len()..];
        let end = if prefix == "whsec_" {
            // Standard base64 of 32 bytes: `/`, `+` and `=` are part of it.
            after
                .char_indices()
                .take(44)
                .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
                .last()
                .map_or(0, |(i, c)| i + c.len_utf8())
        } else {
            after
                .find(|c: char| matches!(c, '/' | '?' | '&' | '=' | ',' | ';') || c.is_whitespace())
                .unwrap_or(after.len())
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_paths_are_cut_to_their_prefix() {
        assert_eq!(
            redact_secrets("/api/v1/x/arkpat_abc-DEF_123/y?key=scok_zz&a=1"),
            "/api/v1/x/arkpat_[redacted]/y?key=scok_[redacted]&a=1"
        );
        let webhook = format!("/hooks/whsec_{}/next", "Ab+/".repeat(10) + "AbC=");
        assert_eq!(redact_secrets(&webhook), "/hooks/whsec_[redacted]/next");
        assert!(matches!(
            redact_secrets("/api/public/v1/guilds/1/strikes"),
            Cow::Borrowed(_)
        ));
        assert_eq!(redact_secrets("my_name"), "my_name");
    }
}
