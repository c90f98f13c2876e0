ALTER TABLE purchase_requests DROP COLUMN payment_days, DROP COLUMN min_turnover;
