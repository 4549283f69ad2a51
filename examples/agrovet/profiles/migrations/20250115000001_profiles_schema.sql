-- profiles_db: one profile per user and role. user_id is auth_db's
-- auth_user.id (another database: no foreign key); image and product ids
-- name rows of media_db and marketplace_db the same way.

CREATE TABLE specialist_profile (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL UNIQUE,
    profession varchar(100) NOT NULL,
    experience_years smallint NOT NULL DEFAULT 0 CHECK (experience_years >= 0),
    work_images_ids uuid[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE businessman_profile (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL UNIQUE,
    business_name varchar(150) NOT NULL,
    products_ids uuid[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE consumer_profile (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
