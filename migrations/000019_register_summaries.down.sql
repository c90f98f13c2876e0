DROP TABLE decp_affinity;
DROP TABLE public_buyer_years;
DROP TABLE public_shares_by_place;
