DROP TABLE public_buyers;
DROP TABLE public_buyer_shares;
DROP TABLE contract_proposals;
DROP TABLE register_imports;
DROP TABLE decp_winners;
DROP TABLE decp_contracts;
DROP TABLE sirene_establishments;
DROP TABLE sirene_units;
