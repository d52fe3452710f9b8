-- Every audit query names its surface, so (surface, guild_id, id) serves them all; the
-- older (guild_id, id) index only made each audit row cost one more b-tree insert.
DROP INDEX IF EXISTS audit_log_by_guild;
