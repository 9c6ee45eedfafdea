-- 001_init.sql: keygate's initial schema.
--
-- Applied by `keygate-admin migrate` (core/store/migrate.c).  Rules for this
-- and every later file:
--   * each statement ends with ';' at the end of a line; lines starting
--     with '--' are comments and skipped whole; a comment trailing SQL on
--     the same line must not end with a semicolon
--   * every statement is idempotent (IF NOT EXISTS ...): a crash between a
--     statement and the record of this file re-runs the whole file
--   * InnoDB, utf8mb4; identifiers compare byte for byte (nopad_bin: 'a' and
--     'a ' differ, 'A' and 'a' differ) since names and ids are exact
--   * every time is DATETIME(6) in UTC (connections set time_zone '+00:00'),
--     written and compared with UTC_TIMESTAMP(6) so that every worker and
--     host agrees with one clock, the database's
--   * every token is stored only as its SHA-256, BINARY(32), UNIQUE
--   * rows that management routes address carry namespace_id, with a key
--     starting with it: every management query names the namespace, so a
--     credential of one namespace can never reach a row of another
--   * every table has a primary key (Galera replicates by it)
--   * no column defaults for times: the store modules write them explicitly

-- The runner creates this too before applying anything (it needs it to
-- record this very file); the definition must stay the same.
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INT NOT NULL,
  name VARCHAR(255) NOT NULL,
  applied_at DATETIME(6) NOT NULL,
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Namespaces.  name follows ^[a-z0-9][a-z0-9._-]{0,62}$ (checked by the API,
-- and here as a last line of defence).
CREATE TABLE IF NOT EXISTS namespaces (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY namespaces_name (name),
  CONSTRAINT namespaces_name_chk CHECK (name REGEXP '^[a-z0-9][a-z0-9._-]{0,62}$')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Wallets of a namespace and their track (1 member, 2 developer, 3 admin,
-- 4 operator).  A wallet is 0x + 40 lower-case hex, as stored everywhere.
CREATE TABLE IF NOT EXISTS members (
  namespace_id BIGINT UNSIGNED NOT NULL,
  wallet CHAR(42) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  track TINYINT UNSIGNED NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (namespace_id, wallet),
  -- "is this the last track-4 member", "does the namespace have members"
  KEY members_track (namespace_id, track),
  CONSTRAINT members_namespace FOREIGN KEY (namespace_id)
    REFERENCES namespaces (id) ON DELETE CASCADE,
  CONSTRAINT members_track_chk CHECK (track BETWEEN 1 AND 4)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Sign-in nonces.  Stored in clear: a nonce is not a credential (it appears
-- in the message the wallet signs) and it is single-use.  namespace is the
-- requested name, not a foreign key: a challenge must not create the
-- namespace, and unauthenticated callers must not be able to grow that table.
-- Consumption is one UPDATE ... SET used_at WHERE nonce = ? AND wallet = ?
-- AND namespace = ? AND used_at IS NULL AND expires_at > UTC_TIMESTAMP(6).
CREATE TABLE IF NOT EXISTS nonces (
  nonce CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  wallet CHAR(42) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  namespace VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  purpose VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  chain_id BIGINT UNSIGNED NOT NULL,
  issued_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  used_at DATETIME(6) NULL,
  PRIMARY KEY (nonce),
  -- max_pending_nonces: unexpired unused nonces of one wallet
  KEY nonces_wallet (wallet, expires_at),
  -- keygate-cleanup
  KEY nonces_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Session families: one per wallet sign-in; every refresh token and access
-- token of the session carries its id (the JWT sid claim, 32 random hex).
-- expires_at is created_at + session_max_age: no refresh past it.
CREATE TABLE IF NOT EXISTS session_families (
  id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  namespace_id BIGINT UNSIGNED NOT NULL,
  subject VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  track TINYINT UNSIGNED NOT NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  revoked_reason VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
  PRIMARY KEY (id),
  -- logout everywhere: every family of a subject in a namespace
  KEY session_families_subject (namespace_id, subject),
  KEY session_families_expires (expires_at),
  CONSTRAINT session_families_namespace FOREIGN KEY (namespace_id)
    REFERENCES namespaces (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Refresh tokens (kg_rt_...).  Rotation consumes one atomically (used_at);
-- presenting one whose used_at is set is reuse and revokes the family.
-- replaced_by links to its successor for the audit trail.
CREATE TABLE IF NOT EXISTS refresh_tokens (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  id8 CHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  token_hash BINARY(32) NOT NULL,
  family_id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  used_at DATETIME(6) NULL,
  replaced_by BIGINT UNSIGNED NULL,
  PRIMARY KEY (id),
  UNIQUE KEY refresh_tokens_hash (token_hash),
  UNIQUE KEY refresh_tokens_id8 (id8),
  KEY refresh_tokens_family (family_id),
  KEY refresh_tokens_expires (expires_at),
  CONSTRAINT refresh_tokens_family FOREIGN KEY (family_id)
    REFERENCES session_families (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Revoked access tokens, by jti (32 hex).  Inserted idempotently (INSERT
-- IGNORE).  namespace is the JWT's ns claim by name, not a foreign key: the
-- check runs on every request from the token's claims alone, and a
-- revocation must be recordable whatever happened to the namespace.
-- keygate-cleanup deletes rows whose token has expired anyway.
CREATE TABLE IF NOT EXISTS jwt_revocations (
  jti CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  subject VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  namespace VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  track TINYINT UNSIGNED NULL,
  token_expires_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NOT NULL,
  reason VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  PRIMARY KEY (jti),
  KEY jwt_revocations_expires (token_expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Logout everywhere: access tokens of (namespace, subject) with iat at or
-- before logged_out_at (compared at second resolution, as iat is) stop
-- validating.  By name for the same reason as jwt_revocations.  A row can
-- go once every token it could reject has expired (the longest access TTL).
CREATE TABLE IF NOT EXISTS subject_logouts (
  namespace VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  subject VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  logged_out_at DATETIME(6) NOT NULL,
  PRIMARY KEY (namespace, subject),
  KEY subject_logouts_at (logged_out_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- API keys (kg_sk_<id8>_...).  scopes is space-separated; project_ids a
-- JSON array of strings, NULL meaning all projects.  wallet is set for keys
-- minted by POST /v1/auth/api-key (max_keys_per_wallet counts them).
-- expires_at NULL = never.  last_used_at is refreshed at most once a minute.
CREATE TABLE IF NOT EXISTS api_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  namespace_id BIGINT UNSIGNED NOT NULL,
  id8 CHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  token_hash BINARY(32) NOT NULL,
  name VARCHAR(255) NOT NULL,
  scopes VARCHAR(2048) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  project_ids JSON NULL,
  wallet CHAR(42) CHARACTER SET ascii COLLATE ascii_bin NULL,
  created_by VARCHAR(128) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NULL,
  revoked_at DATETIME(6) NULL,
  last_used_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  -- management lookups and lists (newest first: ORDER BY id DESC)
  UNIQUE KEY api_keys_namespace_id (namespace_id, id),
  UNIQUE KEY api_keys_id8 (id8),
  UNIQUE KEY api_keys_hash (token_hash),
  KEY api_keys_wallet (namespace_id, wallet),
  CONSTRAINT api_keys_namespace FOREIGN KEY (namespace_id)
    REFERENCES namespaces (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Registered client applications.  app_id is the public client_id
-- ("app_..."); public_key the uncompressed secp256k1 key (0x04 || X || Y)
-- recovered from the registration signature.
CREATE TABLE IF NOT EXISTS apps (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  namespace_id BIGINT UNSIGNED NOT NULL,
  app_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name VARCHAR(255) NOT NULL,
  public_key BINARY(65) NOT NULL,
  wallet CHAR(42) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY apps_namespace_id (namespace_id, id),
  UNIQUE KEY apps_app_id (app_id),
  KEY apps_wallet (namespace_id, wallet),
  CONSTRAINT apps_namespace FOREIGN KEY (namespace_id)
    REFERENCES namespaces (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Install tokens (mit_...): single use, short-lived.  The exchange consumes
-- one with one UPDATE (used_at) in the transaction that creates the daemon
-- token, whose id it then records in daemon_token_id.
CREATE TABLE IF NOT EXISTS install_tokens (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  namespace_id BIGINT UNSIGNED NOT NULL,
  token_hash BINARY(32) NOT NULL,
  created_by VARCHAR(128) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  used_at DATETIME(6) NULL,
  daemon_token_id BIGINT UNSIGNED NULL,
  PRIMARY KEY (id),
  UNIQUE KEY install_tokens_namespace_id (namespace_id, id),
  UNIQUE KEY install_tokens_hash (token_hash),
  KEY install_tokens_expires (expires_at),
  CONSTRAINT install_tokens_namespace FOREIGN KEY (namespace_id)
    REFERENCES namespaces (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Daemon tokens (mdt_...).  They do not expire until revoked: expires_at is
-- far in the future (9999-12-31) so that every token table answers the same
-- "expires_at > UTC_TIMESTAMP(6)" check.  A daemon may re-enrol under the
-- same daemon_id, so it is not unique.
CREATE TABLE IF NOT EXISTS daemon_tokens (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  namespace_id BIGINT UNSIGNED NOT NULL,
  daemon_id VARCHAR(128) NOT NULL,
  token_hash BINARY(32) NOT NULL,
  install_token_id BIGINT UNSIGNED NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  last_seen_at DATETIME(6) NULL,
  last_used_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY daemon_tokens_namespace_id (namespace_id, id),
  UNIQUE KEY daemon_tokens_hash (token_hash),
  KEY daemon_tokens_daemon (namespace_id, daemon_id),
  CONSTRAINT daemon_tokens_namespace FOREIGN KEY (namespace_id)
    REFERENCES namespaces (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Org tokens (kg_ot_<id8>_...): namespace-wide admin bearer tokens.
CREATE TABLE IF NOT EXISTS org_tokens (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  namespace_id BIGINT UNSIGNED NOT NULL,
  id8 CHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  token_hash BINARY(32) NOT NULL,
  name VARCHAR(255) NULL,
  created_by VARCHAR(128) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  last_used_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY org_tokens_namespace_id (namespace_id, id),
  UNIQUE KEY org_tokens_id8 (id8),
  UNIQUE KEY org_tokens_hash (token_hash),
  CONSTRAINT org_tokens_namespace FOREIGN KEY (namespace_id)
    REFERENCES namespaces (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Audit trail.  namespace by name, not a foreign key: events must outlive
-- a deleted namespace, and a failed attempt may name one that never
-- existed.  actor is a key prefix (id8), a wallet or "admin", never a
-- secret.  outcome: ok, denied (not allowed), failed (allowed, but the
-- target was absent or in the wrong state).  keygate-cleanup deletes rows
-- older than audit_retention.
CREATE TABLE IF NOT EXISTS audit_events (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  at DATETIME(6) NOT NULL,
  namespace VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NULL,
  actor_type VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  actor VARCHAR(128) NOT NULL,
  action VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  target VARCHAR(255) NULL,
  remote_addr VARCHAR(45) CHARACTER SET ascii COLLATE ascii_bin NULL,
  outcome VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  PRIMARY KEY (id),
  -- GET /v1/namespaces/{ns}/audit, newest first
  KEY audit_events_namespace (namespace, id),
  KEY audit_events_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Rate-limit token buckets, shared by every worker and host.  bucket_key
-- names the bucket (e.g. "ip:" + address, "w:" + wallet).  A bucket is
-- refilled and drawn from in one statement (INSERT ... ON DUPLICATE KEY
-- UPDATE computing the refill from updated_at and UTC_TIMESTAMP(6)), so
-- every host uses the database's clock.  Idle buckets are full and can be
-- deleted by keygate-cleanup.
CREATE TABLE IF NOT EXISTS rate_buckets (
  bucket_key VARBINARY(128) NOT NULL,
  tokens DOUBLE NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (bucket_key),
  KEY rate_buckets_updated (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
