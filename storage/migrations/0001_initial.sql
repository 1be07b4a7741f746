-- Guest base, admin preferences, conversation state and the audit log.

-- One row per bonus account ("account card"). Money is kept in kopecks
-- (INTEGER) so sums and comparisons are exact; dates are ISO-8601 text.
CREATE TABLE guests (
    id                INTEGER PRIMARY KEY,
    card_number       TEXT UNIQUE,
    phone             TEXT NOT NULL UNIQUE,          -- E.164, e.g. +79161234567
    email             TEXT,
    last_name         TEXT,
    first_name        TEXT,
    middle_name       TEXT,
    sex               TEXT CHECK (sex IN ('male', 'female')),
    birthday          TEXT,                          -- YYYY-MM-DD
    -- MM-DD of the birthday, so "birthday this week" segments use an index.
    birthday_md       TEXT GENERATED ALWAYS AS (substr(birthday, 6, 5)) VIRTUAL,
    balance_cents     INTEGER NOT NULL DEFAULT 0,
    account_group     TEXT,
    registered_at     TEXT,                          -- YYYY-MM-DD
    last_visit_at     TEXT,                          -- YYYY-MM-DD
    visits_count      INTEGER NOT NULL DEFAULT 0,
    total_spent_cents INTEGER NOT NULL DEFAULT 0,
    tg_user_id        INTEGER UNIQUE,
    tg_chat_id        INTEGER,
    tg_username       TEXT,
    tg_status         TEXT NOT NULL DEFAULT 'none'
                      CHECK (tg_status IN ('none', 'active', 'blocked', 'unsubscribed')),
    email_status      TEXT NOT NULL DEFAULT 'none'
                      CHECK (email_status IN ('none', 'active', 'bounced', 'unsubscribed')),
    -- Case-folded "last first middle card": SQLite's lower() knows ASCII only,
    -- so Cyrillic case-insensitive search runs against this column.
    search_text       TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE INDEX guests_tg_status ON guests (tg_status);
CREATE INDEX guests_email_status ON guests (email_status);
CREATE INDEX guests_balance ON guests (balance_cents);
CREATE INDEX guests_birthday_md ON guests (birthday_md);
CREATE INDEX guests_last_visit ON guests (last_visit_at);
CREATE INDEX guests_visits ON guests (visits_count);
CREATE INDEX guests_group ON guests (account_group);
CREATE INDEX guests_registered ON guests (registered_at);

CREATE TABLE guest_tags (
    guest_id INTEGER NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (guest_id, tag)
) WITHOUT ROWID;

CREATE INDEX guest_tags_by_tag ON guest_tags (tag, guest_id);

-- Interface language an admin picked for themselves (default: LOCALE).
CREATE TABLE admin_prefs (
    user_id INTEGER PRIMARY KEY,
    locale  TEXT NOT NULL
);

-- aiogram FSM: one row per storage key; data is JSON.
CREATE TABLE fsm_state (
    storage_key TEXT PRIMARY KEY,
    state       TEXT,
    data        TEXT NOT NULL DEFAULT '{}'
);

-- Who changed what and when. Never holds a secret.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    user_id INTEGER,
    action  TEXT NOT NULL,
    detail  TEXT
);
