-- chat_db: rooms, messages and per-recipient delivery receipts. Users
-- (participants, senders) are auth_db ids; media_id is a media_db id. The
-- channel-layer group of room R is "chat_<R>" (in Redis, not here).

CREATE TABLE chat_room (
    id uuid PRIMARY KEY,
    name varchar(100) NOT NULL UNIQUE,
    participants_ids uuid[] NOT NULL DEFAULT '{}',
    is_private boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chat_message (
    id uuid PRIMARY KEY,
    room_id uuid NOT NULL REFERENCES chat_room (id) ON DELETE CASCADE,
    sender_id uuid NOT NULL,
    content text NOT NULL DEFAULT '',
    media_id uuid,
    sent_at timestamptz NOT NULL DEFAULT now(),
    CHECK (content <> '' OR media_id IS NOT NULL)
);

CREATE INDEX chat_message_room_sent_idx ON chat_message (room_id, sent_at);

CREATE TABLE chat_message_receipt (
    id uuid PRIMARY KEY,
    message_id uuid NOT NULL REFERENCES chat_message (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    delivered boolean NOT NULL DEFAULT false,
    read boolean NOT NULL DEFAULT false,
    UNIQUE (message_id, user_id)
);
