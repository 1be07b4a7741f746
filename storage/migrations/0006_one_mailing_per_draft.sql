-- A draft becomes at most one mailing, whatever the timing of the admin's taps:
-- Confirm stores the draft's key with the mailing, and a second Confirm of the
-- same draft (two taps in one batch, a retry after a lost answer) meets this
-- unique index instead of creating a second mailing. Mailings made before this
-- version have no key (NULLs never collide).
ALTER TABLE mailings ADD COLUMN draft_key TEXT;
CREATE UNIQUE INDEX mailings_by_draft_key ON mailings (draft_key);
