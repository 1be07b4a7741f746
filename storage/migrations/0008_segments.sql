-- Segments built in the bot: deletion that keeps past mailings' references, and
-- the indexes that keep counting a large base quick (docs/architecture.md, "Storage").

-- A deleted segment used by past mailings stays for their history, hidden from lists.
ALTER TABLE segments ADD COLUMN deleted_at TEXT;

-- Age is a range over the birthday; total spent and average bill scan this column.
CREATE INDEX guests_birthday ON guests (birthday);
CREATE INDEX guests_total_spent ON guests (total_spent_cents);
-- "Received a mailing within the last N days": sent rows by time.
CREATE INDEX deliveries_sent_by_time ON deliveries (sent_at, guest_id)
    WHERE status = 'sent';
