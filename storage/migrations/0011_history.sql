-- The mailing history: search by words of the name and the page's order
-- (docs/architecture.md, "Storage").

-- The name as search compares it: SQLite's LIKE folds ASCII only, so the name is
-- kept casefolded with ё as е by fold(), a deterministic function every
-- connection registers (storage/db.py). The triggers keep it whoever writes.
ALTER TABLE mailings ADD COLUMN name_folded TEXT NOT NULL DEFAULT '';
UPDATE mailings SET name_folded = fold(name);

CREATE TRIGGER mailings_fold_name_on_insert AFTER INSERT ON mailings
BEGIN
    UPDATE mailings SET name_folded = fold(NEW.name) WHERE id = NEW.id;
END;

CREATE TRIGGER mailings_fold_name_on_rename AFTER UPDATE OF name ON mailings
BEGIN
    UPDATE mailings SET name_folded = fold(NEW.name) WHERE id = NEW.id;
END;

-- The page's order and the date filter use mailings_by_time (0003); its counts
-- come per mailing through deliveries_by_mailing_status.
