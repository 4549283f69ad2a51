-- Run by the postgres image on its first start (empty volume), in
-- POSTGRES_DB as POSTGRES_USER, before the server accepts TCP clients.
-- Extensions need a superuser; in production the application's role is not
-- one, so they live here rather than in the migrations.
--
-- pg_trgm: similarity search on plates the OCR read partly wrong ("ABC-128"
-- for "ABC-123"); migration 20251102000003 builds a trigram index with it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
