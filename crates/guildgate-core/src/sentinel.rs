//! Typed confirmation sentinels: the template table's strings, how a concrete sentinel is
//! rendered from validated request fields, and how a presented one is compared.

use crate::error::{ApiError, ErrorCode};

/// A template such as `BAN USER {user_id} IN GUILD {guildId} {PERMANENT|DURATION N}`.
/// Each `{...}` is filled from the value given for exactly that placeholder text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentinelTemplate(pub &'static str);

impl SentinelTemplate {
    pub fn format(&self) -> &'static str {
        self.0
    }

    /// Renders the concrete sentinel. Every placeholder must have a value: a missing one is
    /// a bug in the caller (the policy table and its handler disagree), so it panics in tests.
    pub fn render(&self, values: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(self.0.len() + 40);
        let mut rest = self.0;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = open
                + rest[open..]
                    .find('}')
                    .expect("template braces are balanced");
            let name = &rest[open + 1..close];
            let value = values
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("no value for sentinel placeholder {{{name}}}"));
            out.push_str(value);
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        normalise(&out)
    }
}

/// Trim, collapse every run of whitespace to one space, uppercase. Nothing else: a
/// misspelling is never repaired.
pub fn normalise(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        // Char by char, as `str::to_uppercase` does, without a new string per word.
        if word.is_ascii() {
            out.extend(word.bytes().map(|b| char::from(b.to_ascii_uppercase())));
        } else {
            out.extend(word.chars().flat_map(char::to_uppercase));
        }
    }
    out
}

/// Compares what the caller sent with the expected sentinel; the 422 carries both the
/// template and the concrete string so a script can correct itself.
pub fn verify(
    template: SentinelTemplate,
    expected_concrete: &str,
    presented: Option<&str>,
) -> Result<(), ApiError> {
    let message = match presented {
        Some(value) if normalise(value) == expected_concrete => return Ok(()),
        Some(_) => "_confirmation does not match the expected sentinel.",
        None => "_confirmation is required for this destructive action.",
    };
    Err(ApiError::new(ErrorCode::InvalidConfirmation, message)
        .with_detail("expected_format", template.format())
        .with_detail("expected_concrete", expected_concrete))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRIKE: SentinelTemplate =
        SentinelTemplate("ADD STRIKE TO USER {user_id} IN GUILD {guildId} SEVERITY {MINOR|MAJOR}");

    #[test]
    fn renders_from_values() {
        let got = STRIKE.render(&[
            ("user_id", "583912000000000000"),
            ("guildId", "100000000000000000"),
            ("MINOR|MAJOR", "minor"),
        ]);
        assert_eq!(
            got,
            "ADD STRIKE TO USER 583912000000000000 IN GUILD 100000000000000000 SEVERITY MINOR"
        );
    }

    #[test]
    fn normalisation_forgives_case_and_spacing_only() {
        let expected = "REMOVE STRIKE 01HZ IN GUILD 1";
        let t = SentinelTemplate("REMOVE STRIKE {strikeId} IN GUILD {guildId}");
        assert!(verify(t, expected, Some("  remove   strike\t01hz in guild 1 ")).is_ok());
        let err = verify(t, expected, Some("REMOVE STRIKES 01HZ IN GUILD 1")).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidConfirmation);
        let details = err.details.unwrap();
        assert_eq!(details["expected_concrete"], expected);
        assert_eq!(details["expected_format"], t.format());
        assert!(verify(t, expected, None).is_err());
    }
}
