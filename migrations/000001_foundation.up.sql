-- Foundation: extensions and the French full-text configuration every
-- search in Passerelle relies on. unaccent and pg_trgm are "trusted"
-- extensions, so the database owner may create them without superuser.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- French stemming that ignores accents: "énergie" and "energie" index alike.
CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = french);
ALTER TEXT SEARCH CONFIGURATION french_unaccent
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;

-- unaccent() is only STABLE (it depends on a dictionary that could change);
-- this wrapper pins the dictionary so it can be used in index expressions.
CREATE FUNCTION immutable_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN public.unaccent('public.unaccent'::regdictionary, $1);
