//! Reading `Authorization: Bearer <credentials>`.

/// The credentials of a Bearer `Authorization` value, or `None` for another scheme. The
/// scheme's name is matched without regard to case (RFC 9110, section 11.1), so clients
/// that send `bearer` are served as those that send `Bearer`.
pub fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim_start_matches(' '))
}

#[cfg(test)]
mod tests {
    use super::bearer_credentials;

    #[test]
    fn the_scheme_is_read_in_any_case() {
        for value in ["Bearer k", "bearer k", "BEARER k", "Bearer  k"] {
            assert_eq!(bearer_credentials(value), Some("k"), "{value}");
        }
        for value in ["Token k", "Bearerk", "k", "Basic a2V5"] {
            assert_eq!(bearer_credentials(value), None, "{value}");
        }
    }
}
