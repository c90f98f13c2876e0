DROP TABLE search_changes_pruned;
