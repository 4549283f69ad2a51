-- marketplace_db: ads ("adds" in the services' code: the model is `Add`),
-- their categories and who follows whom. publisher_id, follower_id and
-- following_id are auth_db user ids; image ids are media_db ids.

CREATE TABLE category (
    id uuid PRIMARY KEY,
    name varchar(100) NOT NULL UNIQUE,
    description text NOT NULL DEFAULT ''
);

CREATE TABLE add (
    id uuid PRIMARY KEY,
    publisher_id uuid NOT NULL,
    category_id uuid REFERENCES category (id) ON DELETE SET NULL,
    title varchar(200) NOT NULL,
    description text NOT NULL DEFAULT '',
    price numeric(12, 2) NOT NULL CHECK (price >= 0),
    main_image_id uuid,
    secondary_image_ids uuid[] NOT NULL DEFAULT '{}',
    is_sold boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX add_publisher_id_idx ON add (publisher_id);
CREATE INDEX add_category_id_idx ON add (category_id);

CREATE TABLE follow (
    id uuid PRIMARY KEY,
    follower_id uuid NOT NULL,
    following_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (follower_id, following_id),
    CHECK (follower_id <> following_id)
);
