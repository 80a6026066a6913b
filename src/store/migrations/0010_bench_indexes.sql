-- 0010 indexes found by bench/api (docs/benchmarks.md): the R3 count of a seat's personal
-- mailboxes (mailboxes_count_owned) read every row of the seat through mailboxes_owner
-- (1,000 rows for a seat with 1,000 mailboxes, on every mailbox request); with kind in the
-- index the count reads the index alone. The count of a user's assigned slots scanned the
-- whole slots table.
CREATE INDEX mailboxes_owner_kind ON mailboxes(owner_id, kind);
CREATE INDEX slots_user ON slots(user_id, state);
