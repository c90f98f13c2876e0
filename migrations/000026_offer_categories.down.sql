DROP TRIGGER offers_categories_update ON offers;
DROP TRIGGER offers_categories ON offers;
DROP FUNCTION offer_categories_refresh();
DROP TABLE offer_categories;
DROP VIEW offer_category_rows;
DROP FUNCTION cpv_category(text);
