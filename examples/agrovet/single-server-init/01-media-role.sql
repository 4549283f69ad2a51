-- The media service logs in as its own role (single-server.yaml gives it
-- media_db). Run by the image on its first start, before any TCP client can
-- log in; demo password, as DB_PASSWORD is.
CREATE ROLE media_service LOGIN PASSWORD 'media_dev';
