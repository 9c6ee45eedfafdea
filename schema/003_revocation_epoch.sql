-- 003_revocation_epoch.sql: one counter that every revocation increments
-- in its own transaction (db.c, statements flagged KG_SQL_REVOKES).  Each
-- host reads it at most twice a second, so a credential a worker cached
-- stops validating within one second of a revocation made on any host
-- (core/store/revocation.h).  Same rules as 001_init.sql.
CREATE TABLE IF NOT EXISTS revocation_epoch (
  id TINYINT UNSIGNED NOT NULL,
  epoch BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

INSERT IGNORE INTO revocation_epoch (id, epoch) VALUES (1, 0);
