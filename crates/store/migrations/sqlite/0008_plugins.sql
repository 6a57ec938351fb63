-- Plugins (issue 9): what the owner approved for each installed plugin. The module itself lives
-- in the data dir (plugins/NAME.wasm); its SHA-256 is pinned here, and a module whose hash no
-- longer matches is disabled until the owner approves it again.
CREATE TABLE plugins (
    name TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    author TEXT NOT NULL,
    description TEXT NOT NULL,
    -- JSON arrays of hook and permission names, as approved
    hooks TEXT NOT NULL,
    permissions TEXT NOT NULL,
    module_sha256 TEXT NOT NULL,
    webhook_url TEXT,
    enabled BIGINT NOT NULL DEFAULT 1,
    -- why it is off ('' when it was simply switched off or is on)
    disabled_reason TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    last_error_at BIGINT,
    approved_by TEXT NOT NULL,
    approved_at BIGINT NOT NULL,
    installed_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
