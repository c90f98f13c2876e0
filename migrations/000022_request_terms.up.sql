-- What a purchase request says of its terms, shown to SMEs and read by the
-- request coach: the payment delay it commits to (days), and the minimum
-- yearly turnover it requires of candidates (€ HT). Both optional.
ALTER TABLE purchase_requests
    ADD COLUMN payment_days  smallint CHECK (payment_days BETWEEN 1 AND 365),
    ADD COLUMN min_turnover  bigint CHECK (min_turnover > 0);
