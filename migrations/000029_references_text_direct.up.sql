-- New past contracts' words went to the GIN index's pending list, which
-- every search of the index then reads whole until a vacuum merges it:
-- after 11,000 contracts were added (a registers import adds tens of
-- thousands a day) the matching's search by words took 12 ms at the
-- median instead of 4. Entries now go straight into the index: an insert
-- costs a little more, a search never reads a pending list.
ALTER INDEX org_references_text SET (fastupdate = off);
SELECT gin_clean_pending_list('org_references_text'::regclass);
