-- foro_db: posts in communities, threaded comments and reactions. A reaction
-- targets a post or a comment (content_type + object_id, Django's generic
-- relation). Users are auth_db ids; media_id is a media_db id.

CREATE TABLE community (
    id uuid PRIMARY KEY,
    name varchar(100) NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE post (
    id uuid PRIMARY KEY,
    author_id uuid NOT NULL,
    community_id uuid REFERENCES community (id) ON DELETE SET NULL,
    title varchar(200) NOT NULL,
    content text NOT NULL,
    media_id uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX post_community_id_idx ON post (community_id, created_at DESC);

CREATE TABLE comment (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    post_id uuid NOT NULL REFERENCES post (id) ON DELETE CASCADE,
    parent_id uuid REFERENCES comment (id) ON DELETE CASCADE,
    content text NOT NULL,
    media_id uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX comment_post_id_idx ON comment (post_id);

CREATE TABLE reaction (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    type varchar(20) NOT NULL CHECK (type IN ('like', 'love', 'useful', 'funny', 'sad')),
    content_type varchar(20) NOT NULL CHECK (content_type IN ('post', 'comment')),
    object_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, content_type, object_id)
);
