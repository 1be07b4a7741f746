-- Mailing settings: the SMTP server email goes out through, and the channel switches.

-- The SMTP settings in force: one row (id = 1), and only ever settings that
-- passed verification. A draft being edited lives in the admin's FSM data;
-- a failed verification never touches this row.
CREATE TABLE smtp_settings (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    host               TEXT NOT NULL,
    port               INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    username           TEXT,                     -- NULL: the server needs no login
    password_encrypted TEXT,                     -- Fernet token (key in DATA_DIR), never plain
    security           TEXT NOT NULL CHECK (security IN ('none', 'starttls', 'tls')),
    sender_email       TEXT NOT NULL,
    sender_name        TEXT,
    verified_at        TEXT NOT NULL,            -- ISO-8601, UTC
    updated_at         TEXT NOT NULL,            -- ISO-8601, UTC
    updated_by         INTEGER                   -- Telegram user id of the admin
);

-- Which channels mailings may use: one row (id = 1). Telegram is on and Email
-- off until SMTP settings have been verified.
CREATE TABLE channel_switches (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    email_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (email_enabled IN (0, 1)),
    telegram_enabled INTEGER NOT NULL DEFAULT 1 CHECK (telegram_enabled IN (0, 1)),
    updated_at       TEXT,
    updated_by       INTEGER
);

INSERT INTO channel_switches (id) VALUES (1);

-- Email can be on only with verified SMTP settings, whoever writes the row.
CREATE TRIGGER channel_switches_email_needs_smtp
BEFORE UPDATE OF email_enabled ON channel_switches
WHEN NEW.email_enabled = 1 AND NOT EXISTS (SELECT 1 FROM smtp_settings)
BEGIN
    SELECT RAISE(ABORT, 'email channel needs verified SMTP settings');
END;
