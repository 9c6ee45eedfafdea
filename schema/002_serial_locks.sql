-- 002_serial_locks.sql: named lock rows, and the audit listing's
-- action filter.  Same rules as 001_init.sql (idempotent statements, one
-- per ';' line end).

-- Named rows a transaction locks (kg_db_serialize) to serialise a check
-- that no unique key can express: "at most N pending nonces per wallet",
-- "at most N keys per wallet".  Locking a row that may not exist yet with
-- SELECT ... FOR UPDATE takes gap locks, and two such transactions that
-- then insert deadlock each other; an upsert of one named row takes a
-- plain record lock instead.  Unlike GET_LOCK this also holds across a
-- Galera cluster: two nodes writing the same row fail certification and
-- one transaction runs again.  keygate-cleanup deletes rows untouched for
-- a day.
CREATE TABLE IF NOT EXISTS serial_locks (
  name VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  touched_at DATETIME(6) NOT NULL,
  PRIMARY KEY (name),
  KEY serial_locks_touched (touched_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- GET /v1/namespaces/{ns}/audit?action=: newest first within one action.
CREATE INDEX IF NOT EXISTS audit_events_namespace_action
  ON audit_events (namespace, action, id);
