DROP INDEX request_matches_won;
ALTER TABLE purchase_requests DROP COLUMN counterfactual;
DROP TABLE offer_views;
DROP TABLE barometer_invited;
DROP TABLE barometer_answers;
DROP TABLE barometer_campaigns;
DROP TABLE declaration_imports;
DROP VIEW current_declarations;
DROP TABLE declarations;
