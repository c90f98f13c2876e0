ALTER INDEX org_references_text RESET (fastupdate);
