-- media_db: files kept in object storage (Supabase Storage, or MinIO
-- locally); a row points at its URL and at the object it belongs to
-- (content_type_id + object_id: Django's generic relation across services).

CREATE TABLE media (
    id uuid PRIMARY KEY,
    name varchar(255) NOT NULL,
    url varchar(1000) NOT NULL,
    description text NOT NULL DEFAULT '',
    price numeric(12, 2) CHECK (price >= 0),
    content_type_id integer,
    object_id uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX media_object_idx ON media (content_type_id, object_id);
