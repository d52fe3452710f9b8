//! The migrations of each backend: numbered SQL files compiled into the binary (one folder
//! per backend, the same numbers and names), applied by `sql/schema.rs`.

/// `(version, name, sql)`, in order.
pub type Migration = (i64, &'static str, &'static str);

#[rustfmt::skip]
pub const SQLITE: &[Migration] = &[
    (1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    (2, "tasks", include_str!("../migrations/sqlite/0002_tasks.sql")),
    (3, "device_flow", include_str!("../migrations/sqlite/0003_device_flow.sql")),
    (4, "upstream_intents", include_str!("../migrations/sqlite/0004_upstream_intents.sql")),
    (5, "dashboard", include_str!("../migrations/sqlite/0005_dashboard.sql")),
    (6, "shard", include_str!("../migrations/sqlite/0006_shard.sql")),
    (7, "idempotency_holder", include_str!("../migrations/sqlite/0007_idempotency_holder.sql")),
    (8, "audit_one_index", include_str!("../migrations/sqlite/0008_audit_one_index.sql")),
];

#[rustfmt::skip]
pub const POSTGRES: &[Migration] = &[
    (1, "init", include_str!("../migrations/postgres/0001_init.sql")),
    (2, "tasks", include_str!("../migrations/postgres/0002_tasks.sql")),
    (3, "device_flow", include_str!("../migrations/postgres/0003_device_flow.sql")),
    (4, "upstream_intents", include_str!("../migrations/postgres/0004_upstream_intents.sql")),
    (5, "dashboard", include_str!("../migrations/postgres/0005_dashboard.sql")),
    (6, "shard", include_str!("../migrations/postgres/0006_shard.sql")),
    (7, "idempotency_holder", include_str!("../migrations/postgres/0007_idempotency_holder.sql")),
    (8, "audit_one_index", include_str!("../migrations/postgres/0008_audit_one_index.sql")),
];

pub const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// Splits a migration file into statements: `--` comments are dropped first, then the
/// text is cut at `;` (our files never put `;` inside a string literal).
pub fn statements(sql: &str) -> Vec<String> {
    let code: String = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    code.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn comments_may_hold_semicolons() {
        let got =
            super::statements("-- a; b\nCREATE TABLE t (x INT); -- c;\nCREATE INDEX i ON t (x);\n");
        assert_eq!(got, ["CREATE TABLE t (x INT)", "CREATE INDEX i ON t (x)"]);
    }
}
