DROP TRIGGER IF EXISTS organisations_search_change ON organisations;
DROP FUNCTION IF EXISTS search_change_organisation();
DROP TRIGGER IF EXISTS offers_search_change ON offers;
DROP FUNCTION IF EXISTS search_change_offer();
DROP TABLE IF EXISTS search_changes;
